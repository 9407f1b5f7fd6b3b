"""The servers a run compares: selreactor, its peers, the floor and the ceilings.

Each server knows which protocols it speaks, how to start it on a port and,
when it cannot run here, why not.  The "why not" becomes a row of the
report instead of a silent gap.
"""

from __future__ import annotations

import enum
import importlib.metadata
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "bench" / "build"
PY = sys.executable

SUBJECT = "selreactor"
BASELINE = "asyncio-protocol"
FLOOR = "bare-epoll"


class Role(enum.Enum):
    SUBJECT = "subject"
    PEER = "peer"
    FLOOR = "floor"
    CEILING = "ceiling"


@dataclass(frozen=True)
class Launch:
    """How to start one server: the command and an optional config to write."""

    argv: list[str]
    config: tuple[str, str] | None = None  # (file name in the temp dir, text)


@dataclass(frozen=True)
class Server:
    name: str
    role: Role
    protos: tuple[str, ...]
    describe: str
    launch: Callable[[str, int, int, Path, float | None], Launch]
    """``launch(proto, port, cpu, tmpdir, idle_timeout)``."""
    check: Callable[[str], str | None]
    """``check(proto)``: ``None`` when it can run, else why not."""


def _module(name: str, args: list[str]) -> list[str]:
    return [PY, "-m", name, *args]


def _needs_modules(*names: str) -> Callable[[str], str | None]:
    def check(proto: str) -> str | None:
        for name in names:
            if importlib.util.find_spec(name) is None:
                return f"not available: Python package {name!r} is not installed"
        return None

    return check


def _needs_program(program: str) -> Callable[[str], str | None]:
    def check(proto: str) -> str | None:
        if shutil.which(program) is None and not Path(program).exists():
            return f"not available: {Path(program).name} not found (run bench/setup.sh)"
        return None

    return check


# -- selreactor ---------------------------------------------------------------


def _has_transport() -> bool:
    return all(
        importlib.util.find_spec(m) is not None for m in ("reactor.transport", "reactor.listener")
    )


def _pyproject_plugins() -> dict[str, str]:
    """Entry points of ``reactor.protocols`` as declared in pyproject.toml."""
    path = ROOT / "pyproject.toml"
    try:
        text = path.read_text()
    except OSError:
        return {}
    match = re.search(r'^\[project\.entry-points\."reactor\.protocols"\]\s*$', text, re.M)
    if match is None:
        return {}
    found: dict[str, str] = {}
    for raw in text[match.end() :].splitlines():
        line = raw.strip()
        if line.startswith("["):
            break
        entry = re.match(r'^([A-Za-z0-9_.-]+)\s*=\s*"([^"]+)"', line)
        if entry:
            found[entry.group(1)] = entry.group(2)
    return found


def plugin_target(name: str) -> str | None:
    """``module:attr`` of plugin ``name``, installed or declared in pyproject."""
    for ep in importlib.metadata.entry_points(group="reactor.protocols"):
        if ep.name == name:
            return ep.value
    return _pyproject_plugins().get(name)


def _plugin_importable(name: str) -> bool:
    target = plugin_target(name)
    if target is None:
        return False
    module = target.split(":", 1)[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def cli_serves(name: str) -> bool:
    """Whether ``python -m reactor serve NAME`` can load plugin ``name`` here."""
    if importlib.util.find_spec("reactor.cli") is None:
        return False
    try:
        from reactor import plugins

        plugins.load(name)
    except Exception:  # noqa: BLE001 - missing or half-written plugin: not available
        return False
    return True


def _selreactor_check(proto: str) -> str | None:
    if importlib.util.find_spec("reactor.loop") is None:
        return "not available: run from the selreactor source tree"
    if not _has_transport():
        return "not available: reactor.transport/reactor.listener are not there yet"
    if proto == "echo":
        return None
    if cli_serves(proto) or _plugin_importable(proto):
        return None
    return f"not available: no {proto!r} plugin in reactor.protocols yet"


def selreactor_how(proto: str) -> str:
    """Which way selreactor is started for ``proto`` (shown in the report)."""
    if cli_serves(proto):
        return f"python -m reactor serve {proto}"
    if _plugin_importable(proto):
        return f"bench/servers/selreactor_serve.py {proto} (plugin, no CLI)"
    return "bench/servers/selreactor_echo.py (library API)"


def _selreactor(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    common = ["--host", "127.0.0.1", "--port", str(port)]
    idle_args = ["--idle-timeout", str(idle)] if idle is not None else []
    if cli_serves(proto):
        # WARNING keeps the root logger quiet; the listener's connection log
        # stays as the CLI configures it, since that is what users run.
        argv = ["--log-level", "WARNING", "serve", proto, *common, "--backlog", "4096"]
        return Launch(_module("reactor", [*argv, *idle_args]))
    if _plugin_importable(proto):
        return Launch(_module("bench.servers.selreactor_serve", [proto, *common, *idle_args]))
    return Launch(_module("bench.servers.selreactor_echo", [*common, *idle_args]))


def _selreactor_status(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    """selreactor as the CLI runs it with ``--status`` (the metrics' cost on the hot path)."""
    launch = _selreactor(proto, port, cpu, tmp, idle)
    return Launch([*launch.argv, "--status", "127.0.0.1:0"], launch.config)


def _selreactor_status_check(proto: str) -> str | None:
    if not cli_serves(proto):
        return "not available: --status needs the reactor CLI"
    return _selreactor_check(proto)


# -- peers --------------------------------------------------------------------


def _asyncio(api: str, loop: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        args = ["--port", str(port), "--proto", proto, "--api", api, "--loop", loop]
        return Launch(_module("bench.servers.asyncio_server", args))

    return launch


def _script(module: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        return Launch(_module(module, ["--port", str(port), "--proto", proto]))

    return launch


def _c_echo(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    return Launch([str(BUILD / "c_echo"), str(port)])


NGINX_CONF = """\
daemon off;
master_process off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{
    worker_connections 20000;
    use epoll;
}}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            default_type text/plain;
            return 200 "Hello, World!";
        }}
    }}
}}
"""


def _nginx(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    conf = NGINX_CONF.format(tmp=tmp, port=port)
    argv = ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    return Launch(argv, ("nginx.conf", conf))


def _redis(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no", "--daemonize", "no", "--dir", str(tmp)]
    argv += ["--logfile", str(tmp / "redis.log"), "--maxclients", "15000"]
    return Launch(argv)


def _always(proto: str) -> str | None:
    return None


SERVERS: list[Server] = [
    Server(
        SUBJECT,
        Role.SUBJECT,
        ("echo", "http", "resp"),
        "selreactor (this project)",
        _selreactor,
        _selreactor_check,
    ),
    Server(
        "selreactor-status",
        Role.PEER,
        ("echo", "http", "resp"),
        "selreactor with --status (status page and /metrics served)",
        _selreactor_status,
        _selreactor_status_check,
    ),
    Server(
        BASELINE,
        Role.PEER,
        ("echo", "http", "resp"),
        "asyncio, Protocol API",
        _asyncio("protocol", "asyncio"),
        _always,
    ),
    Server(
        "asyncio-streams",
        Role.PEER,
        ("echo",),
        "asyncio streams (start_server)",
        _asyncio("streams", "asyncio"),
        _always,
    ),
    Server(
        "uvloop",
        Role.PEER,
        ("echo", "http", "resp"),
        "uvloop, Protocol API",
        _asyncio("protocol", "uvloop"),
        _needs_modules("uvloop"),
    ),
    Server(
        "twisted",
        Role.PEER,
        ("echo",),
        "Twisted Protocol, epoll reactor",
        _script("bench.servers.twisted_echo"),
        _needs_modules("twisted"),
    ),
    Server(
        "tornado",
        Role.PEER,
        ("echo",),
        "Tornado TCPServer/IOStream",
        _script("bench.servers.tornado_echo"),
        _needs_modules("tornado"),
    ),
    Server(
        FLOOR,
        Role.FLOOR,
        ("echo", "http", "resp"),
        "bare select.epoll loop, no framework",
        _script("bench.servers.bare_epoll"),
        _always,
    ),
    Server(
        "c-epoll",
        Role.CEILING,
        ("echo",),
        "C epoll echo (bench/c_echo.c)",
        _c_echo,
        _needs_program(str(BUILD / "c_echo")),
    ),
    Server("nginx", Role.CEILING, ("http",), "nginx, return 200", _nginx, _needs_program("nginx")),
    Server(
        "redis",
        Role.CEILING,
        ("resp",),
        "redis-server",
        _redis,
        _needs_program("redis-server"),
    ),
]


def by_name(name: str) -> Server:
    for server in SERVERS:
        if server.name == name:
            return server
    raise KeyError(name)
