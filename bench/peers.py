"""The servers a run compares: selreactor, its peers, the floor and the ceilings.

Each server knows which protocols it speaks, how to start it on a port and,
when it cannot run here, why not.  The "why not" becomes a row of the
report instead of a silent gap.

The TLS protocols are ``tls-echo`` (echo over TLS) and ``https`` (the HTTP
responder over TLS).  Every server start gets a fresh throwaway certificate
(ECDSA P-256, self-signed, made with ``openssl req`` in the server's temp
dir), so no key is ever committed and every server presents the same kind.
"""

from __future__ import annotations

import enum
import functools
import importlib.metadata
import importlib.util
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bench.scenarios import TLS_PROTOS
from bench.servers.certs import tls_pair
from bench.servers.nginx_conf import nginx_conf

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "bench" / "build"
PY = sys.executable

SUBJECT = "selreactor"
BASELINE = "asyncio-protocol"
FLOOR = "bare-epoll"
PLAIN_OF = {"tls-echo": "echo", "https": "http"}
"""The plain protocol each TLS protocol carries."""
NGINX_STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
AIO = "reactor-aio"
AIO_STREAMS = "reactor-aio-streams"
AIO_AIOHTTP = "aiohttp-reactor-aio"
STREAMS = "selreactor-streams"


class Role(enum.Enum):
    SUBJECT = "subject"
    PEER = "peer"
    FLOOR = "floor"
    CEILING = "ceiling"


@dataclass(frozen=True)
class Launch:
    """How to start one server: the command and an optional config to write.

    ``helpers`` are started first, each with the port it listens on (nginx's
    TLS echo proxies to a C echo); their CPU time counts as the server's.
    """

    argv: list[str]
    config: tuple[str, str] | None = None  # (file name in the temp dir, text)
    helpers: tuple[tuple[list[str], int], ...] = ()


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tls_args(proto: str, tmp: Path) -> list[str]:
    if proto not in TLS_PROTOS:
        return []
    cert, key = tls_pair(tmp)
    return ["--tls-cert", str(cert), "--tls-key", str(key)]


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


@functools.cache
def cli_speaks_tls() -> bool:
    """Whether ``python -m reactor serve echo`` takes ``--tls-cert``/``--tls-key``."""
    if importlib.util.find_spec("reactor.cli") is None:
        return False
    argv = [PY, "-m", "reactor", "serve", "echo", "--help"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, cwd=ROOT, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--tls-cert" in done.stdout and "--tls-key" in done.stdout


def _selreactor_tls_check(proto: str) -> str | None:
    if not cli_speaks_tls():
        return "not available: reactor serve has no --tls-cert/--tls-key in this tree yet"
    if not cli_serves(PLAIN_OF[proto]):
        return f"not available: no {PLAIN_OF[proto]!r} plugin in reactor.protocols yet"
    return None


def _selreactor_check(proto: str) -> str | None:
    if importlib.util.find_spec("reactor.loop") is None:
        return "not available: run from the selreactor source tree"
    if not _has_transport():
        return "not available: reactor.transport/reactor.listener are not there yet"
    if proto in TLS_PROTOS:
        return _selreactor_tls_check(proto)
    if proto == "echo":
        return None
    if cli_serves(proto) or _plugin_importable(proto):
        return None
    return f"not available: no {proto!r} plugin in reactor.protocols yet"


def selreactor_how(proto: str) -> str:
    """Which way selreactor is started for ``proto`` (shown in the report)."""
    if proto in TLS_PROTOS:
        return f"python -m reactor serve {PLAIN_OF[proto]} --tls-cert C --tls-key K"
    if cli_serves(proto):
        return f"python -m reactor serve {proto}"
    if _plugin_importable(proto):
        return f"bench/servers/selreactor_serve.py {proto} (plugin, no CLI)"
    return "bench/servers/selreactor_echo.py (library API)"


def _selreactor(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    common = ["--host", "127.0.0.1", "--port", str(port)]
    idle_args = ["--idle-timeout", str(idle)] if idle is not None else []
    if proto in TLS_PROTOS:
        # The CLI's TLS options: the same certificate as every peer, defaults otherwise.
        argv = ["--log-level", "WARNING", "serve", PLAIN_OF[proto], *common]
        argv += ["--backlog", "4096", *_tls_args(proto, tmp)]
        return Launch(_module("reactor", [*argv, *idle_args]))
    if cli_serves(proto):
        # WARNING keeps the root logger quiet; the listener's connection log
        # stays as the CLI configures it, since that is what users run.
        argv = ["--log-level", "WARNING", "serve", proto, *common, "--backlog", "4096"]
        return Launch(_module("reactor", [*argv, *idle_args]))
    if _plugin_importable(proto):
        return Launch(_module("bench.servers.selreactor_serve", [proto, *common, *idle_args]))
    return Launch(_module("bench.servers.selreactor_echo", [*common, *idle_args]))


def _streams(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    idle_args = ["--idle-timeout", str(idle)] if idle is not None else []
    return Launch(_module("bench.servers.streams_echo", ["--port", str(port), *idle_args]))


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
        plain = PLAIN_OF.get(proto, proto)
        args = ["--port", str(port), "--proto", plain, "--api", api, "--loop", loop]
        return Launch(_module("bench.servers.asyncio_server", [*args, *_tls_args(proto, tmp)]))

    return launch


def _script(module: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        return Launch(_module(module, ["--port", str(port), "--proto", proto]))

    return launch


def _on_aio(api: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    """asyncio_server.py's code on reactor.aio (bench/servers/aio_server.py)."""

    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        args = ["--port", str(port), "--proto", proto, "--api", api]
        return Launch(_module("bench.servers.aio_server", args))

    return launch


def _aiohttp(loop: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        args = ["--port", str(port), "--loop", loop]
        return Launch(_module("bench.servers.aiohttp_server", args))

    return launch


def _uvicorn(http: str, loop: str) -> Callable[[str, int, int, Path, float | None], Launch]:
    def launch(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
        args = ["--port", str(port), "--http", http, "--loop", loop]
        return Launch(_module("bench.servers.uvicorn_server", args))

    return launch


def _c_echo(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    return Launch([str(BUILD / "c_echo"), str(port)])


def _c_tls_echo(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    cert, key = tls_pair(tmp)
    return Launch([str(BUILD / "c_tls_echo"), str(port), str(cert), str(key)])


def _nginx(proto: str, port: int, cpu: int, tmp: Path, idle: float | None) -> Launch:
    argv = ["nginx", "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", str(tmp / "error.log")]
    files = tls_pair(tmp) if proto in TLS_PROTOS else None
    if proto == "tls-echo":
        backend = free_port()
        conf = nginx_conf(tmp, port, files, NGINX_STREAM_MODULE, backend)
        helper = ([str(BUILD / "c_echo"), str(backend)], backend)
        return Launch(argv, ("nginx.conf", conf), (helper,))
    return Launch(argv, ("nginx.conf", nginx_conf(tmp, port, files)))


def _nginx_check(proto: str) -> str | None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "not available: nginx not found (run bench/setup.sh)"
    if proto in TLS_PROTOS and shutil.which("openssl") is None:
        return "not available: openssl not found for the certificate (run bench/setup.sh)"
    if proto == "tls-echo":
        if not NGINX_STREAM_MODULE.exists():
            return "not available: nginx stream module missing (libnginx-mod-stream)"
        if not (BUILD / "c_echo").exists():
            return "not available: the C echo server behind nginx was not built"
    return None


def _openssl_check(proto: str) -> str | None:
    if proto in TLS_PROTOS and shutil.which("openssl") is None:
        return "not available: openssl not found for the certificate (run bench/setup.sh)"
    return None


def _both(
    a: Callable[[str], str | None], b: Callable[[str], str | None]
) -> Callable[[str], str | None]:
    def check(proto: str) -> str | None:
        return a(proto) or b(proto)

    return check


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
        ("echo", "http", "resp", *TLS_PROTOS),
        "selreactor (this project)",
        _selreactor,
        _both(_openssl_check, _selreactor_check),
    ),
    Server(
        STREAMS,
        Role.PEER,
        ("echo",),
        "selreactor coroutines, reactor.streams recv/send",
        _streams,
        _needs_modules("reactor.streams"),
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
        ("echo", "http", "resp", *TLS_PROTOS),
        "asyncio, Protocol API (TLS: its sslproto transport)",
        _asyncio("protocol", "asyncio"),
        _openssl_check,
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
        ("echo", "http", "resp", *TLS_PROTOS),
        "uvloop, Protocol API (TLS: its SSL transport)",
        _asyncio("protocol", "uvloop"),
        _both(_openssl_check, _needs_modules("uvloop")),
    ),
    Server(
        "uvloop-streams",
        Role.PEER,
        ("echo",),
        "uvloop streams (start_server)",
        _asyncio("streams", "uvloop"),
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
    # reactor.aio: the asyncio servers above, unchanged, on selreactor's loop;
    # and the asyncio HTTP stacks, on each loop (the HTTP peers users pick).
    Server(
        AIO,
        Role.SUBJECT,
        ("echo", "http", "resp"),
        "reactor.aio, asyncio Protocol API (asyncio-protocol's code)",
        _on_aio("protocol"),
        _needs_modules("reactor.aio"),
    ),
    Server(
        AIO_STREAMS,
        Role.SUBJECT,
        ("echo",),
        "reactor.aio, asyncio streams (asyncio-streams' code)",
        _on_aio("streams"),
        _needs_modules("reactor.aio"),
    ),
    Server(
        "aiohttp-asyncio",
        Role.PEER,
        ("http",),
        "aiohttp hello-world on asyncio",
        _aiohttp("asyncio"),
        _needs_modules("aiohttp"),
    ),
    Server(
        "aiohttp-uvloop",
        Role.PEER,
        ("http",),
        "aiohttp hello-world on uvloop",
        _aiohttp("uvloop"),
        _needs_modules("aiohttp", "uvloop"),
    ),
    Server(
        AIO_AIOHTTP,
        Role.SUBJECT,
        ("http",),
        "aiohttp hello-world on reactor.aio",
        _aiohttp("selreactor"),
        _needs_modules("aiohttp", "reactor.aio"),
    ),
    Server(
        "uvicorn-httptools",
        Role.PEER,
        ("http",),
        "uvicorn, httptools on uvloop, ASGI hello-world",
        _uvicorn("httptools", "uvloop"),
        _needs_modules("uvicorn", "httptools", "uvloop"),
    ),
    Server(
        "uvicorn-h11",
        Role.PEER,
        ("http",),
        "uvicorn, h11 on asyncio, ASGI hello-world",
        _uvicorn("h11", "asyncio"),
        _needs_modules("uvicorn", "h11"),
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
    Server(
        "c-tls-epoll",
        Role.CEILING,
        ("tls-echo",),
        "C epoll + OpenSSL TLS echo (bench/servers/c_tls_echo.c)",
        _c_tls_echo,
        _both(_openssl_check, _needs_program(str(BUILD / "c_tls_echo"))),
    ),
    Server(
        "nginx",
        Role.CEILING,
        ("http", *TLS_PROTOS),
        "nginx, return 200 (TLS echo: stream ssl -> C echo)",
        _nginx,
        _nginx_check,
    ),
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
