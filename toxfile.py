"""selreactor's tox plugin: plain ``tox`` finds every supported Python, or says which is missing.

tox looks for ``python3.12`` on PATH.  With pyenv, PATH holds only the shims,
and a shim runs only the versions ``pyenv global`` (or ``pyenv local``) selects:
the others are installed but invisible, and tox would skip their environments
as missing.  This plugin looks on PATH first and then in pyenv's versions folder
(``$PYENV_ROOT/versions``, by default ``~/.pyenv/versions``), and hands what
it found to tox as interpreters to try first (what ``tox --discover`` does), so
each ``pyXY`` environment gets its version.  A supported version found
nowhere fails its environment with a message saying where it looked and how to
install it; only the versions not yet in ``REQUIRED`` (3.14) may be skipped.

tox loads this file itself (``toxfile.py`` next to ``tox.ini`` is an inline
plugin).  The discovery functions use only the standard library, so the test
suite imports and checks them without tox installed.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "REQUIRED",
    "Discovery",
    "discover",
    "env_python_version",
    "pyenv_versions_dir",
]

REQUIRED = ("3.10", "3.11", "3.12", "3.13")
"""The supported versions: their environments fail, never skip, when the interpreter is missing.

Add a version here (and to ``env_list`` in tox.ini) once it can be installed
everywhere the tests run; until then its environment runs where it is found.
"""

_PY_FACTOR = re.compile(r"py(\d)(\d+)")
_RELEASE = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?")
_LEVELS = {"a": 0, "b": 1, "rc": 2, None: 3}
_PROBE = "import sys; print('%d.%d' % sys.version_info[:2])"


def env_python_version(env_name: str) -> str | None:
    """The ``X.Y`` of an environment name's ``pyXY`` factor (``py312-foo`` -> ``3.12``), if any."""
    for factor in env_name.split("-"):
        if match := _PY_FACTOR.fullmatch(factor):
            return f"{match[1]}.{match[2]}"
    return None


def pyenv_versions_dir(environ: Mapping[str, str]) -> Path:
    """Where pyenv installs interpreters: ``$PYENV_ROOT/versions``, else ``~/.pyenv/versions``.

    This is what ``pyenv root`` answers, without running pyenv (it need not be on PATH).
    """
    root = environ.get("PYENV_ROOT") or str(Path(environ.get("HOME") or Path.home()) / ".pyenv")
    return Path(root) / "versions"


def _pyenv_candidates(versions: Path, version: str) -> Iterator[Path]:
    """``versions/X.Y.*/bin/pythonX.Y``, newest final release first, then pre-releases; other
    builds (``3.13.0t``, virtualenvs) are ignored."""
    try:
        names = [entry.name for entry in versions.iterdir()]
    except OSError:  # no pyenv here
        return
    releases = []
    for name in names:
        match = _RELEASE.fullmatch(name)
        if match and f"{match[1]}.{match[2]}" == version:
            # a final release first, then the newest candidate (3.14.0rc1 before any 3.14.0)
            key = (match[4] is None, int(match[3]), _LEVELS[match[4]], int(match[5] or 0))
            releases.append((key, name))
    for _, name in sorted(releases, reverse=True):
        yield versions / name / "bin" / f"python{version}"


def _runs_as(executable: Path, version: str, environ: Mapping[str, str]) -> bool:
    """Whether ``executable`` starts and is Python ``version`` (a pyenv shim of an unselected
    version exists on PATH but exits with "command not found")."""
    if not os.access(executable, os.X_OK) or executable.is_dir():
        return False
    try:
        # S603 asks whether the argv is trusted: it is an interpreter this search found, by design.
        done = subprocess.run(  # noqa: S603
            [str(executable), "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=30,
            env=dict(environ),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


class Discovery:
    """Where an environment's interpreter was looked for, and what was found."""

    __slots__ = ("env_name", "found", "path_dirs", "version", "versions_dir")

    def __init__(
        self,
        env_name: str,
        version: str,
        found: Path | None,
        path_dirs: list[str],
        versions_dir: Path,
    ) -> None:
        self.env_name = env_name
        """The tox environment, e.g. ``py312``."""
        self.version = version
        """The Python version its name asks for, e.g. ``3.12``."""
        self.found = found
        """The interpreter to use, or ``None`` when none was found."""
        self.path_dirs = path_dirs
        """The PATH folders that were searched, in order."""
        self.versions_dir = versions_dir
        """pyenv's versions folder that was searched."""

    @property
    def required(self) -> bool:
        """Whether the version is supported, so that its absence is an error."""
        return self.version in REQUIRED

    def missing_message(self) -> str:
        """The one-line error for a version found nowhere: where we looked, how to get it."""
        return (
            f"Python {self.version} is supported but no interpreter was found "
            f"(looked in PATH and {self.versions_dir}); install it (pyenv install {self.version}) "
            f"or put python{self.version} on PATH"
        )


def discover(env_name: str, environ: Mapping[str, str]) -> Discovery | None:
    """The interpreter for a ``pyXY`` environment: PATH first, then pyenv's versions, newest patch
    first.  ``None`` for an environment without a ``pyXY`` factor (lint, docs, ...)."""
    version = env_python_version(env_name)
    if version is None:
        return None
    path_dirs = [d for d in environ.get("PATH", "").split(os.pathsep) if d]
    versions_dir = pyenv_versions_dir(environ)
    candidates = [Path(d) / f"python{version}" for d in path_dirs]
    candidates += _pyenv_candidates(versions_dir, version)
    found = next((c for c in candidates if _runs_as(c, version, environ)), None)
    return Discovery(env_name, version, found, path_dirs, versions_dir)


# -- the tox hooks ------------------------------------------------------------------
#
# Defined only where tox is installed: the test suite imports the functions above
# in environments that have no tox.
try:
    from tox.config.sets import EnvConfigSet
    from tox.plugin import impl
    from tox.session.state import State
    from tox.tox_env.errors import Fail, Skip
    from tox.tox_env.python.virtual_env.runner import VirtualEnvRunner
    from tox.tox_env.register import ToxEnvRegister
except ModuleNotFoundError:
    pass
else:
    _missing: dict[str, str] = {}  # environment name -> why it cannot run

    class _Runner(VirtualEnvRunner):
        """tox's virtualenv runner, failing an environment whose supported Python is missing."""

        def setup(self) -> None:
            """Fail (or, with ``--skip-missing-interpreters true``, skip) before looking again."""
            problem = _missing.get(self.conf.name)
            if problem is not None:
                if str(getattr(self.options, "skip_missing_interpreters", "")).lower() == "true":
                    raise Skip(problem)
                raise Fail(problem)
            super().setup()

    @impl(trylast=True)  # after tox's own registration, so this one replaces it
    def tox_register_tox_env(register: ToxEnvRegister) -> None:
        """Run every environment with the runner above (same id: ``virtualenv``)."""
        register.add_run_env(_Runner)

    @impl
    def tox_add_env_config(env_conf: EnvConfigSet, state: State) -> None:
        """Have tox try the interpreter found first (``--discover``), or record why the
        environment cannot run.  (Setting ``base_python`` to the path instead would clash
        with the ``pyXY`` name in older tox 4 releases: 4.15 rejects it.)"""
        found = discover(env_conf.name, os.environ)
        if found is None:
            return
        if found.found is not None:
            discover_first: list[str] = state.conf.options.discover
            if str(found.found) not in discover_first:
                discover_first.append(str(found.found))
        elif found.required:
            _missing[env_conf.name] = found.missing_message()
