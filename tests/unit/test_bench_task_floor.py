"""``python -m bench.task_floor``: every way of resuming it counts really resumes."""

from __future__ import annotations

import pytest

from bench import task_floor


@pytest.mark.parametrize("mode", task_floor.MODES)
def test_each_mode_resumes_as_often_as_asked(mode: str) -> None:
    resumed = task_floor._resume(mode, 50)
    assert resumed == 50


def test_a_bad_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        task_floor.main(["--resumptions", "0"])
    assert exit_info.value.code == 2
    assert "--resumptions must be at least 1" in capsys.readouterr().err
