"""The commands of the getting-started page, run as a reader would run them.

``reactor serve echo`` and ``reactor connect`` as subprocesses, then the
example plugin package of ``docs/examples/plugin``: served by its
``module:attribute`` path, and by its entry-point name once its metadata is
on the path (a dist-info directory made from its ``pyproject.toml``, as an
install would make it); then the package's own tests, on the test kit.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the test extra installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "docs" / "examples" / "plugin"


def environment(*paths: Path) -> dict[str, str]:
    parts = [str(p) for p in (ROOT, *paths)]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([*parts, os.environ.get("PYTHONPATH", "")]),
    }


def reactor_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "reactor", *args]


@contextmanager
def serving(name: str, *options: str, env: dict[str, str]) -> Iterator[int]:
    """Run ``reactor serve NAME --port 0``; yield the port it logs; stop it with SIGTERM."""
    proc = subprocess.Popen(
        reactor_cmd("serve", name, "--port", "0", *options),
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    stderr = proc.stderr

    def pump() -> None:
        for line in stderr:
            lines.put(line)

    reader = threading.Thread(target=pump)
    reader.start()
    try:
        port = 0
        while not port:
            line = lines.get(timeout=20)  # a server that never starts fails here
            match = re.search(rf"serving {re.escape(name)} on 127\.0\.0\.1:(\d+)", line)
            if match:
                port = int(match.group(1))
        yield port
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        reader.join(10)
        proc.stderr.close()


def connect(port: int, data: bytes, env: dict[str, str]) -> bytes:
    """``printf DATA | reactor connect 127.0.0.1 PORT``: the bytes it prints."""
    result = subprocess.run(
        reactor_cmd("connect", "127.0.0.1", str(port)),
        input=data,
        capture_output=True,
        timeout=20,
        env=env,
        check=True,
    )
    return result.stdout


def test_serve_echo_then_connect() -> None:
    env = environment()
    with serving("echo", env=env) as port:
        assert connect(port, b"Some Data", env) == b"Some Data"


def test_example_plugin_by_module_path() -> None:
    env = environment(PLUGIN)
    with serving("upper:plugin", env=env) as port:
        assert connect(port, b"hello\nplugins\n", env) == b"HELLO\nPLUGINS\n"
    with serving("upper:plugin", "--reverse", env=env) as port:
        assert connect(port, b"hello\n", env) == b"OLLEH\n"


def install_metadata(target: Path) -> None:
    """Write the dist-info an install of the example package would write."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    info = target / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    entry_points = project["entry-points"]
    text = "".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in names.items())
        for group, names in entry_points.items()
    )
    (info / "entry_points.txt").write_text(text)


def test_example_plugin_by_entry_point_name(tmp_path: Path) -> None:
    install_metadata(tmp_path)
    env = environment(PLUGIN, tmp_path)
    listing = subprocess.run(
        reactor_cmd("list"), capture_output=True, text=True, timeout=20, env=env, check=True
    )
    assert re.search(
        r"^upper\s+echo each line in upper case\s+\[upper:plugin\]$", listing.stdout, re.M
    )
    with serving("upper", env=env) as port:
        assert connect(port, b"entry points\n", env) == b"ENTRY POINTS\n"


def test_example_plugin_tests_pass_with_the_test_kit() -> None:
    """The page's ``pytest -p reactor.pytest_plugin``, in the package's directory."""
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*pytest, "-p", "reactor.pytest_plugin", "test_upper.py"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment(PLUGIN),
        cwd=PLUGIN,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
