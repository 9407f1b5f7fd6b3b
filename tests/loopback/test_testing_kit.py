"""The test kit on real sockets: the loopback client, serve_plugin, the pytest plugin."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from reactor.loop import Reactor
from reactor.testing import (
    FakeClock,
    LoopbackClient,
    ServePlugin,
    StepTimeout,
    read_exactly,
    read_until_eof,
    run_until,
)

ROOT = Path(__file__).resolve().parents[2]


def test_loopback_client_sends_and_reads_by_size_marker_and_eof(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("echo")
    with LoopbackClient(reactor, listener.port) as client:
        run_until(reactor, lambda: client.key in listener.connections)
        client.send(b"one\r\ntwo\r\nthree")
        assert client.recv_until(b"\r\n") == b"one\r\n"
        assert client.recv_exactly(3) == b"two"
        client.write_eof()
        assert client.read_until_eof() == b"\r\nthree"
        with pytest.raises(EOFError, match="closed after 0 of 1 bytes"):
            client.recv_exactly(1)


def test_loopback_client_send_steps_the_reactor_through_backpressure(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("discard")
    big = b"d" * (16 << 20)  # far beyond the kernel's buffers
    with LoopbackClient(reactor, listener.port) as client:
        client.send(big)
        conn = next(iter(listener.connections.values()))
        run_until(reactor, lambda: conn.bytes_in == len(big))


def test_loopback_client_times_out_instead_of_hanging(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("discard")
    with LoopbackClient(reactor, listener.port, timeout=0.2) as client:
        with pytest.raises(StepTimeout):
            client.recv_exactly(1)
        assert client.recv_available() == b""


def test_raw_socket_helpers_read_exactly_what_was_asked(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("echo")
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as sock:
        sock.setblocking(False)
        sock.send(b"abcdef")
        assert read_exactly(reactor, sock, 2) == b"ab"
        sock.shutdown(socket.SHUT_WR)
        assert read_until_eof(reactor, sock) == b"cdef"


def test_serve_plugin_parses_options_like_the_command_line(
    reactor: Reactor, serve_plugin: ServePlugin
) -> None:
    listener = serve_plugin("packet", "--packet", "1", max_connections=1)
    assert listener.max_connections == 1
    with LoopbackClient(reactor, listener.port) as client:
        client.send(b"\x03abc")
        assert client.recv_exactly(4) == b"\x03abc"
    line = serve_plugin("packet", packet="line")
    with LoopbackClient(reactor, line.port) as client:
        client.send(b"hi\n")
        assert client.recv_until(b"\n") == b"hi\n"


def test_serve_plugin_refuses_unknown_and_bad_options(serve_plugin: ServePlugin) -> None:
    with pytest.raises(ValueError, match="no option 'colour'"):
        serve_plugin("echo", colour="blue")
    with pytest.raises(ValueError, match="unrecognized arguments: --colour"):
        serve_plugin("echo", "--colour")
    with pytest.raises(ValueError, match="argument --packet"):
        serve_plugin("packet", "--packet", "3")


def test_serve_plugin_on_the_fake_reactor_with_a_refuse_message(
    fake_reactor: Reactor, clock: FakeClock, serve_plugin: ServePlugin
) -> None:
    # resp has a refuse_message: as under `reactor serve`, a full server refuses with it
    listener = serve_plugin("resp", reactor=fake_reactor, max_connections=1)
    with LoopbackClient(fake_reactor, listener.port) as first:
        run_until(fake_reactor, lambda: listener.connections)
        with LoopbackClient(fake_reactor, listener.port) as second:
            assert second.read_until_eof() == b"-ERR max number of clients reached\r\n"
        first.send(b"SET k v PX 100\r\n")
        assert first.recv_until(b"\r\n") == b"+OK\r\n"
        clock.advance(0.2)  # the key expires, with no extra turn
        first.send(b"EXISTS k\r\n")
        assert first.recv_until(b"\r\n") == b":0\r\n"


# -- the pytest plugin, in a pytest of its own ---------------------------------------------

USES_THE_FIXTURES = """
    from reactor.testing import LoopbackClient

    def test_fixtures(clock, fake_reactor, reactor, serve_plugin):
        fired = []
        fake_reactor.call_later(5, fired.append, 1)
        clock.advance(5)
        assert fired == [1]
        listener = serve_plugin("echo")
        with LoopbackClient(reactor, listener.port) as client:
            client.send(b"x")
            assert client.recv_exactly(1) == b"x"
"""


def run_pytest(directory: Path, *args: str, path: Path | None = None) -> str:
    extra = [str(ROOT)] if path is None else [str(ROOT), str(path)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*extra, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=directory,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def write_project(directory: Path, conftest: bool) -> None:
    (directory / "pytest.ini").write_text("[pytest]\n")  # this directory is the rootdir
    (directory / "test_it.py").write_text(textwrap.dedent(USES_THE_FIXTURES))
    if conftest:
        (directory / "conftest.py").write_text('pytest_plugins = ["reactor.pytest_plugin"]\n')


def test_plugin_loaded_with_dash_p(tmp_path: Path) -> None:
    write_project(tmp_path, conftest=False)
    assert "1 passed" in run_pytest(tmp_path, "-p", "reactor.pytest_plugin")


def test_plugin_loaded_once_by_entry_point_conftest_and_dash_p(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    write_project(project, conftest=True)
    # What an install writes for the pytest11 entry point of our pyproject.toml.
    table = re.search(
        r"^\[project\.entry-points\.pytest11\]\n((?:[^\[\n].*\n)+)",
        (ROOT / "pyproject.toml").read_text(),
        re.MULTILINE,
    )
    assert table is not None
    entry_points = dict(re.findall(r'^"?([\w.]+)"? = "([\w.:]+)"$', table.group(1), re.MULTILINE))
    assert entry_points == {"reactor.pytest_plugin": "reactor.pytest_plugin"}
    info = tmp_path / "site" / "selreactor_probe-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: selreactor-probe\nVersion: 0.1\n")
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text("[pytest11]\n" + lines)
    out = run_pytest(project, "-p", "reactor.pytest_plugin", path=tmp_path / "site")
    assert "1 passed" in out
    listing = run_pytest(project, "--trace-config", path=tmp_path / "site")
    registered = [line for line in listing.splitlines() if "reactor/pytest_plugin.py" in line]
    assert len(registered) == 1, registered
