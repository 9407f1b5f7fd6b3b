"""toxfile.py's interpreter discovery, against a fake PATH and a fake pyenv versions folder.

The fake interpreters are shell scripts that print the version they claim to
be, as toxfile.py's probe asks; a fake pyenv shim exits 127 as a real shim of a
version that ``pyenv global`` does not select does.  tox itself is not needed.
"""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from toxfile import REQUIRED, discover, env_python_version, pyenv_versions_dir

ROOT = Path(__file__).resolve().parents[2]


def fake_python(path: Path, prints: str, status: int = 0) -> Path:
    """An executable at ``path`` that prints ``prints`` and exits with ``status``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {prints}\nexit {status}\n")
    path.chmod(0o755)
    return path


def pyenv_python(root: Path, release: str, prints: str | None = None) -> Path:
    """A fake ``root/versions/<release>/bin/pythonX.Y`` for a pyenv release folder."""
    version = ".".join(release.split(".")[:2])
    target = root / "versions" / release / "bin" / f"python{version}"
    return fake_python(target, prints or version)


def environ(root: Path, *path_dirs: Path) -> dict[str, str]:
    return {"PYENV_ROOT": str(root), "PATH": ":".join(map(str, path_dirs)), "HOME": str(root)}


def test_env_names_map_to_versions() -> None:
    assert env_python_version("py312") == "3.12"
    assert env_python_version("py310-docs") == "3.10"
    assert env_python_version("py314") == "3.14"
    for name in ("lint", "type", "docs", ".pkg", "py3", "pypy3"):
        assert env_python_version(name) is None
    assert discover("lint", {}) is None


def test_pyenv_versions_dir_follows_pyenv_root(tmp_path: Path) -> None:
    assert pyenv_versions_dir({"PYENV_ROOT": str(tmp_path)}) == tmp_path / "versions"
    assert pyenv_versions_dir({"HOME": str(tmp_path)}) == tmp_path / ".pyenv" / "versions"


def test_a_shim_on_path_that_does_not_run_falls_back_to_pyenv_newest_release(
    tmp_path: Path,
) -> None:
    shims = tmp_path / "shims"
    fake_python(shims / "python3.12", "pyenv: python3.12: command not found", status=127)
    for release in ("3.12.1", "3.12.10", "3.12.2", "3.12.11rc1"):
        pyenv_python(tmp_path, release)
    pyenv_python(tmp_path, "3.11.7")
    (tmp_path / "versions" / "3.12.12t" / "bin").mkdir(parents=True)  # free-threaded: ignored

    found = discover("py312", environ(tmp_path, shims))

    assert found is not None
    assert found.found == tmp_path / "versions" / "3.12.10" / "bin" / "python3.12"
    assert found.required


def test_a_working_interpreter_on_path_comes_first(tmp_path: Path) -> None:
    on_path = fake_python(tmp_path / "bin" / "python3.11", "3.11")
    pyenv_python(tmp_path, "3.11.9")
    found = discover("py311", environ(tmp_path, tmp_path / "empty", tmp_path / "bin"))
    assert found is not None and found.found == on_path


def test_an_interpreter_of_another_version_is_not_taken(tmp_path: Path) -> None:
    fake_python(tmp_path / "bin" / "python3.13", "3.12")  # a mislabelled link
    pyenv_python(tmp_path, "3.13.0", prints="3.11")
    found = discover("py313", environ(tmp_path, tmp_path / "bin"))
    assert found is not None and found.found is None


def test_a_missing_supported_version_is_an_error_that_says_where_it_looked(
    tmp_path: Path,
) -> None:
    pyenv_python(tmp_path, "3.10.13")
    found = discover("py312", environ(tmp_path, tmp_path / "shims"))
    assert found is not None
    assert found.found is None and found.required
    assert found.missing_message() == (
        "Python 3.12 is supported but no interpreter was found (looked in PATH and "
        f"{tmp_path / 'versions'}); install it (pyenv install 3.12) or put python3.12 on PATH"
    )


def test_a_version_not_yet_supported_is_optional(tmp_path: Path) -> None:
    found = discover("py314", environ(tmp_path))
    assert found is not None
    assert found.found is None and not found.required
    pyenv_python(tmp_path, "3.14.0b3")
    newest = pyenv_python(tmp_path, "3.14.0rc1")  # a pre-release when there is nothing else
    found = discover("py314", environ(tmp_path))
    assert found is not None and found.found == newest


def test_required_versions_are_the_tox_environments_and_the_supported_pythons() -> None:
    ini = configparser.ConfigParser()
    ini.read(ROOT / "tox.ini")
    pythons = [env for env in ini["tox"]["env_list"].split() if env_python_version(env)]
    assert pythons[: len(REQUIRED)] == [f"py{v.replace('.', '')}" for v in REQUIRED]
    pyproject = (ROOT / "pyproject.toml").read_text()
    requires = re.search(r'^requires-python = "(.*)"$', pyproject, re.MULTILINE)
    assert requires is not None and requires[1] == f">={REQUIRED[0]}"
