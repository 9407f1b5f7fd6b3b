"""``reactor serve`` and ``reactor connect`` options: help, usage errors, ports, addresses.

Usage errors run the real command as a subprocess (with a timeout), since
what matters is what a person sees: one line naming the option, status 2,
no traceback.  Help and parsing are checked in-process through ``main()``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reactor import cli

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
PLUGINS = "tests.loopback.cli_plugins"


def run_cli(*args: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reactor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def assert_one_line_error(out: subprocess.CompletedProcess[str], *words: str) -> None:
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0], lines[0]


# -- help ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "title", "options"),
    [
        ("packet", "packet options:", ["--packet", "--max-size"]),
        ("http", "http options:", ["--app", "--max-body"]),
        (
            f"{PLUGINS}:shouter",
            f"{PLUGINS}:shouter options:",
            ["--shout", "--whisper", "--volume"],
        ),
    ],
)
def test_serve_name_help_lists_the_plugin_options_under_its_title(
    capsys: pytest.CaptureFixture[str], name: str, title: str, options: list[str]
) -> None:
    for argv in (["serve", name, "-h"], ["serve", "-h", name], ["serve", name, "--help"]):
        assert cli.main(argv) == 0
        out = capsys.readouterr().out
        assert title in out, out
        standard, _, own = out.partition(title)
        assert "--max-connections" in standard
        for option in options:
            assert option in own
            assert option not in standard


def test_serve_help_without_a_name_shows_the_standard_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["serve", "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: reactor serve NAME")
    assert "--idle-timeout" in out
    assert "0: off" in out


def test_unknown_plugin_is_one_line_listing_the_available_ones() -> None:
    for name in ("no-such-plugin", "nosuchplugin", "os:no_such_attribute", "no.such.module:x"):
        out = run_cli("serve", name)
        assert out.returncode == 2
        assert_one_line_error(out, repr(name), "available:", "echo", "discard")


def test_serve_without_a_name_is_a_usage_error() -> None:
    out = run_cli("serve")
    assert out.returncode == 2
    assert_one_line_error(out, "NAME", "echo")


# -- bad option values -----------------------------------------------------------------

BAD_OPTIONS = [
    (["serve", "echo", "--port", "99999"], "--port"),
    (["serve", "echo", "--port", "-1"], "--port"),
    (["serve", "echo", "--port", "http"], "--port"),
    (["serve", "echo", "--status", "127.0.0.1:70000"], "--status"),
    (["serve", "echo", "--status", "[::1]:99999"], "--status"),
    (["serve", "echo", "--status", "nowhere"], "--status"),
    (["connect", "127.0.0.1", "70000"], "port"),
    (["connect", "127.0.0.1", "0"], "port"),
    (["connect", "127.0.0.1", "5678", "--timeout", "-1"], "--timeout"),
    (["connect", "127.0.0.1", "5678", "--packet", "3"], "--packet"),
    (["serve", "echo", "--max-connections", "0"], "--max-connections"),
    (["serve", "echo", "--max-per-peer", "0"], "--max-per-peer"),
    (["serve", "echo", "--backlog", "-1"], "--backlog"),
    (["serve", "echo", "--idle-timeout", "nan"], "--idle-timeout"),
    (["serve", "echo", "--idle-timeout", "inf"], "--idle-timeout"),
    (["serve", "echo", "--idle-timeout", "-5"], "--idle-timeout"),
    (["serve", "echo", "--write-timeout", "-1"], "--write-timeout"),
    (["serve", "echo", "--drain-timeout", "-1"], "--drain-timeout"),
    (["serve", "echo", "--log-level", "bogus"], "--log-level"),
    (["--log-level", "bogus", "serve", "echo"], "--log-level"),
    (["connect", "127.0.0.1", "5678", "--log-level", "loud"], "--log-level"),
    (["serve", "packet", "--max-size", "0"], "--max-size"),
    (["serve", f"{PLUGINS}:shouter", "--volume", "x"], "--volume"),
]


@pytest.mark.parametrize(
    ("argv", "option"), BAD_OPTIONS, ids=[" ".join(a) for a, _ in BAD_OPTIONS]
)
def test_a_bad_option_value_is_a_one_line_usage_error(argv: list[str], option: str) -> None:
    out = run_cli(*argv)
    assert out.returncode == 2, out.stderr
    assert_one_line_error(out, "error:", f"argument {option}")


def test_the_port_error_shown_in_getting_started() -> None:
    out = run_cli("serve", "echo", "--port", "99999")
    assert out.returncode == 2
    assert (
        out.stderr == "reactor serve: error: argument --port: port 99999 is out of range 0-65535\n"
    )


def test_idle_and_write_timeouts_of_zero_are_off() -> None:
    args = cli.build_parser().parse_args(
        ["serve", "echo", "--idle-timeout", "0", "--write-timeout", "0"]
    )
    assert args.idle_timeout is None
    assert args.write_timeout is None
    args = cli.build_parser().parse_args(["serve", "echo", "--idle-timeout", "2.5"])
    assert args.idle_timeout == 2.5


def test_ports_at_the_ends_of_the_range_are_accepted() -> None:
    parser = cli.build_parser()
    assert parser.parse_args(["serve", "echo", "--port", "65535"]).port == 65535
    assert parser.parse_args(["serve", "echo", "--port", "0"]).port == 0
    assert parser.parse_args(["connect", "::1", "65535"]).port == 65535
    assert parser.parse_args(["connect", "[::1]", "1"]).host == "::1"
    assert parser.parse_args(["serve", "echo", "--host", "[::1]"]).host == "::1"
    status = parser.parse_args(["serve", "echo", "--status", "[::1]:8080"]).status
    assert status == ("::1", 8080)
    assert parser.parse_args(["serve", "echo", "--status", "8080"]).status == ("127.0.0.1", 8080)


# -- plugins that fail -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "status", "words"),
    [
        ("clashing", 2, ["--port", "conflicting"]),
        ("broken_options", 2, ["KeyError", "options table"]),
        ("bad_value", 2, ["ValueError", "--volume must be below 11"]),
        ("bad_type", 2, ["TypeError", "unsupported operand"]),
        ("plugin_bug", 2, ["RuntimeError", "something internal broke"]),
        ("missing_file", 1, ["/nonexistent/app.conf"]),
    ],
)
def test_a_failing_plugin_is_one_line_naming_it(name: str, status: int, words: list[str]) -> None:
    out = run_cli("serve", f"{PLUGINS}:{name}", "--port", "0")
    assert out.returncode == status, out.stderr
    assert_one_line_error(out, f"{PLUGINS}:{name}", *words)


def test_a_plugin_that_fails_to_import_is_one_line() -> None:
    out = run_cli("serve", "tests.loopback.cli_broken_import:plugin", "--port", "0")
    assert out.returncode == 2
    assert_one_line_error(out, "cli_broken_import", "no_such_dependency_of_this_plugin")


def test_an_http_app_that_cannot_be_imported_is_one_line() -> None:
    out = run_cli("serve", "http", "--port", "0", "--app", "no_such_module_here:app")
    assert out.returncode == 2
    assert_one_line_error(out, "'http'", "no_such_module_here")


def test_a_port_in_use_is_one_line_with_status_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run_cli("serve", "echo", "--port", str(port))
    assert out.returncode == 1
    assert_one_line_error(out, f"127.0.0.1:{port}", "in use")


# -- where it listens --------------------------------------------------------------------


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``reactor serve ...``; yields the process and its stderr lines until both ports show."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reactor", *args],
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=ENV,
    )
    assert proc.stderr is not None
    try:
        yield proc, []
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        proc.stderr.close()


def read_until(proc: subprocess.Popen[str], pattern: str, seen: list[str]) -> re.Match[str]:
    assert proc.stderr is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"never saw {pattern!r} in {seen}")


def test_the_bound_port_is_printed_whatever_the_log_level() -> None:
    with serving("--log-level", "WARNING", "serve", "echo", "--port", "0") as (proc, seen):
        match = read_until(proc, r"^reactor: serving echo on 127\.0\.0\.1:(\d+)$", seen)
        port = int(match.group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"ping")
            assert sock.recv(4) == b"ping"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0


def test_ipv6_addresses_are_bracketed_in_what_serve_prints() -> None:
    argv = ("serve", "echo", "--host", "::1", "--port", "0", "--status", "[::1]:0")
    with serving(*argv) as (proc, seen):
        # the status page is announced first; with no IPv6 loopback here the
        # bind fails instead, and that error must be bracketed too
        match = read_until(proc, r"(status page on http://|cannot listen on )(\S+)", seen)
        if match.group(1) == "cannot listen on ":
            assert match.group(2) == "[::1]:0:"
        else:
            assert re.fullmatch(r"\[::1\]:\d+/", match.group(2))
            served = read_until(proc, r"serving echo on (\S+)", seen)
            assert re.fullmatch(r"\[::1\]:\d+", served.group(1))
    assert not any(":::" in line for line in seen), seen


def test_ipv6_addresses_are_bracketed_in_connect_errors() -> None:
    out = run_cli("connect", "::1", "1", "--timeout", "5")
    assert out.returncode == 1
    assert_one_line_error(out, "[::1]:1")


def test_format_address() -> None:
    from reactor.arguments import format_address

    assert format_address("::1", 5678) == "[::1]:5678"
    assert format_address("fe80::1%lo", 80) == "[fe80::1%lo]:80"
    assert format_address("127.0.0.1", 5678) == "127.0.0.1:5678"
    assert format_address("unix:/tmp/echo.sock", 0) == "unix:/tmp/echo.sock"
