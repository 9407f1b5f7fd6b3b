"""A worker's report line (its table and its metrics) and how the supervisor labels them."""

from __future__ import annotations

import json

import pytest

from reactor import metrics
from reactor.exposition import Family, Sample
from reactor.worker_report import decode_report, encode_report, read_report, worker_families


def _active(n: int) -> list[Family]:
    sample = Sample("selreactor_connections_active", (("listener", "127.0.0.1:7"),), n)
    return [Family("selreactor_connections_active", "gauge", "Connections open now", [sample])]


def test_a_report_carries_the_metrics_there_and_back() -> None:
    line = encode_report(3, [], families=_active(5))
    report = decode_report(line)
    assert (report.slot, report.connections) == (3, ())
    assert metrics.value(report.families, "selreactor_connections_active") == 5
    assert read_report(line)[0] == 3  # the connections-only reading still works


def test_a_report_without_metrics_decodes_with_none() -> None:
    line = json.dumps({"worker": 1, "pid": 42, "connections": []}).encode()
    assert decode_report(line).families == []


def test_a_report_with_broken_metrics_is_a_value_error() -> None:
    line = json.dumps({"worker": 1, "pid": 42, "connections": [], "metrics": [{}]}).encode()
    with pytest.raises(ValueError, match="not a metrics snapshot"):
        decode_report(line)


def test_every_sample_is_labelled_by_worker_and_the_supervisor_by_name() -> None:
    merged = worker_families([(1, 0, _active(2)), (0, 0, _active(3))], _active(1))
    name = "selreactor_connections_active"
    assert metrics.value(merged, name, worker="0") == 3
    assert metrics.value(merged, name, worker="1") == 2
    assert metrics.value(merged, name, worker="supervisor") == 1
    assert metrics.value(merged, name) == 6
    text = metrics.render(merged)
    assert text.count("# TYPE selreactor_connections_active gauge") == 1
    assert 'selreactor_connections_active{worker="0",listener="127.0.0.1:7"} 3' in text


def test_two_generations_on_one_slot_never_collide() -> None:
    merged = worker_families([(0, 0, _active(4)), (0, 1, _active(1)), (1, 2, [])])
    name = "selreactor_connections_active"
    assert metrics.value(merged, name, worker="0") == 1  # the new generation
    assert metrics.value(merged, name, worker="0.0") == 4  # the old one, still draining
    assert metrics.value(merged, name, worker="1") is None  # not reported yet
    labels = [s.labels for f in merged for s in f.samples]
    assert len(labels) == len(set(labels))
