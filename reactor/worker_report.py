"""One view of every worker: each worker's connection table, reported to its supervisor.

Theory of operation.  A worker of ``reactor serve NAME --workers N`` holds
one end of a socketpair to its supervisor.  :class:`Reporter` writes the
worker's connection table and its metrics (:func:`reactor.metrics.collect`)
to it as one JSON line when the worker is ready and then every ``interval``
seconds; the supervisor keeps the last complete line of each worker
(:func:`decode_report`) as :class:`WorkerConnection` rows and metric
families, which the status page and ``/metrics`` serve labelled by worker
(:func:`worker_families`).  A line is written with a bounded blocking
``sendall`` (the supervisor does nothing but read them); a supervisor that
does not read for a second ends the reports rather than the worker's
service.  The end of the socketpair tells the worker that its supervisor is
gone, and it drains.

:func:`inherited_sockets` is systemd's socket activation protocol
(``LISTEN_FDS``/``LISTEN_PID``, descriptors from 3 on), for any supervisor
that passes listening sockets.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reactor import metrics

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from reactor.loop import Reactor
    from reactor.protocol import ConnectionInfo, PeerKey

__all__ = [
    "LISTEN_FDS_START",
    "Reporter",
    "WorkerConnection",
    "WorkerReport",
    "decode_report",
    "encode_report",
    "inherited_sockets",
    "read_report",
    "worker_families",
]

log = logging.getLogger(__name__)

LISTEN_FDS_START = 3
"""The first inherited descriptor in systemd's protocol (``SD_LISTEN_FDS_START``)."""

_SEND_TIMEOUT = 1.0


def inherited_sockets(environ: dict[str, str] | None = None) -> list[socket.socket]:
    """The listening sockets passed by systemd (or alike), and unset the variables.

    ``LISTEN_PID`` must name this process (so a child does not take its
    parent's); ``LISTEN_FDS`` says how many descriptors, from 3 on.  Returns
    ``[]`` when nothing was passed.  A descriptor that is not a stream socket
    raises :exc:`ValueError`.
    """
    env = os.environ if environ is None else environ
    pid, count = env.get("LISTEN_PID", ""), env.get("LISTEN_FDS", "")
    for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(name, None)  # children must not take them again
    if not pid.isdigit() or int(pid) != os.getpid() or not count.isdigit():
        return []
    sockets = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
        if sock.type != socket.SOCK_STREAM:
            sock.detach()
            raise ValueError(f"inherited descriptor {fd} is not a stream socket")
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


@dataclass(frozen=True)
class WorkerConnection:
    """One connection of a worker, as its last report described it.

    It has the figures of :class:`reactor.protocol.ConnectionInfo`, so the
    status page shows it like a connection of its own process, and says whose
    it is: :attr:`worker` (the slot, 0 to N-1) and :attr:`pid`.
    """

    worker: int
    pid: int
    id: int
    peer: PeerKey
    local: PeerKey
    created: float
    last_activity: float
    bytes_in: int
    bytes_out: int
    queued: int
    reading: bool
    writing_paused: bool
    proxy_peer: PeerKey | None = None
    linked: int | None = None

    def get_write_buffer_size(self) -> int:
        """Bytes queued for writing when reported."""
        return self.queued

    def is_reading(self) -> bool:
        """Whether reading was on when reported."""
        return self.reading


def _key(value: object) -> PeerKey:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"not a peer key: {value!r}")
    return (str(value[0]), int(value[1]))


def encode_report(
    slot: int,
    connections: Iterable[ConnectionInfo],
    *,
    ready: bool = True,
    families: Iterable[metrics.Family] = (),
) -> bytes:
    """A worker's report line: its pid, slot, every connection's figures and
    its metric ``families`` (:func:`reactor.metrics.families_to_json`)."""
    rows = []
    for conn in connections:
        proxy_peer = getattr(conn, "proxy_peer", None)
        rows.append(
            [
                conn.id,
                list(conn.peer),
                list(conn.local),
                conn.created,
                conn.last_activity,
                conn.bytes_in,
                conn.bytes_out,
                conn.get_write_buffer_size(),
                conn.is_reading(),
                conn.writing_paused,
                list(proxy_peer) if proxy_peer is not None else None,
                getattr(conn, "linked", None),
            ]
        )
    report = {
        "worker": slot,
        "pid": os.getpid(),
        "ready": ready,
        "connections": rows,
        "metrics": metrics.families_to_json(families),
    }
    return json.dumps(report, separators=(",", ":")).encode() + b"\n"


@dataclass(frozen=True)
class WorkerReport:
    """One report line, decoded (:func:`decode_report`)."""

    slot: int
    pid: int
    connections: tuple[WorkerConnection, ...]
    families: list[metrics.Family] = field(default_factory=list)
    """The worker's metrics; empty from a worker that sent none."""


def read_report(line: bytes) -> tuple[int, int, tuple[WorkerConnection, ...]]:
    """``(slot, pid, connections)`` from one report line; :exc:`ValueError` if malformed."""
    report = decode_report(line)
    return report.slot, report.pid, report.connections


def decode_report(line: bytes) -> WorkerReport:
    """One report line, its metrics included; :exc:`ValueError` (or :exc:`KeyError`,
    :exc:`IndexError`, :exc:`TypeError`) if malformed."""
    report = json.loads(line)
    slot, pid = int(report["worker"]), int(report["pid"])
    connections = tuple(
        WorkerConnection(
            slot,
            pid,
            int(row[0]),
            _key(row[1]),
            _key(row[2]),
            float(row[3]),
            float(row[4]),
            int(row[5]),
            int(row[6]),
            int(row[7]),
            bool(row[8]),
            bool(row[9]),
            _key(row[10]) if row[10] is not None else None,
            int(row[11]) if row[11] is not None else None,
        )
        for row in report["connections"]
    )
    families = metrics.families_from_json(report.get("metrics") or ())
    return WorkerReport(slot, pid, connections, families)


def worker_families(
    reports: Iterable[tuple[int, int, list[metrics.Family]]], own: Iterable[metrics.Family] = ()
) -> list[metrics.Family]:
    """The supervisor's ``/metrics``: each worker's families from ``reports``
    (``(slot, generation, families)``), every sample labelled ``worker`` with
    the slot, and the supervisor's ``own`` labelled ``worker="supervisor"``.

    While a reload overlaps two generations on a slot, the newest that has
    reported is ``worker="N"`` and an older one still draining
    ``worker="N.G"`` (G its generation), so no two series collide.  A worker
    that has not reported yet is left out.
    """
    reports = sorted(reports, key=lambda r: (r[0], -r[1]))  # newest first per slot
    snapshots: dict[str, Iterable[metrics.Family]] = {}
    for slot, generation, families in reports:
        if not families:
            continue
        key = str(slot) if str(slot) not in snapshots else f"{slot}.{generation}"
        snapshots[key] = families
    snapshots["supervisor"] = own
    return metrics.merge_workers(snapshots)


class Reporter:
    """A worker's side: report the table now and every ``interval`` seconds.

    ``on_orphaned`` runs once if the supervisor's end closes.
    """

    __slots__ = ("_channel", "_loop", "_on_orphaned", "interval", "slot")

    def __init__(
        self,
        loop: Reactor,
        channel: socket.socket,
        slot: int,
        on_orphaned: Callable[[], object],
        interval: float = 0.5,
    ) -> None:
        self._loop = loop
        self._channel: socket.socket | None = channel
        self.slot = slot
        self.interval = interval
        self._on_orphaned = on_orphaned
        channel.settimeout(_SEND_TIMEOUT)
        loop.add_reader(channel.fileno(), self._readable)
        self.send()

    def send(self) -> None:
        """Write one report now, and schedule the next."""
        channel = self._channel
        if channel is None:
            return
        try:
            loop = self._loop
            report = encode_report(
                self.slot, loop.connections.values(), families=metrics.collect(loop)
            )
            channel.sendall(report)
        except OSError as exc:  # a timeout included: stop reporting, keep serving
            log.warning("worker %d: reports to the supervisor stopped: %s", self.slot, exc)
            self._close()
            return
        self._loop.call_later(self.interval, self.send)

    def _readable(self) -> None:
        channel = self._channel
        if channel is None:
            return
        try:
            data = channel.recv(64)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError:
            data = b""
        if not data:
            log.warning("worker %d: the supervisor is gone; draining", self.slot)
            self._close()
            self._on_orphaned()

    def _close(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None:
            self._loop.remove_reader(channel.fileno())
            channel.close()
