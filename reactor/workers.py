"""``reactor serve NAME --workers N``: a supervisor and N worker processes.

Theory of operation.  The supervisor binds the listening socket once and
forks the workers, which inherit it: the kernel queues every connection in
that one backlog and whichever worker accepts first takes it, so a worker that
restarts loses nothing that was queued.  (With ``reuse_port`` each worker
binds its own ``SO_REUSEPORT`` socket instead: the kernel spreads connections
by a hash of the 4-tuple whatever each worker's load, and a worker's queue is
lost with it unless ``net.ipv4.tcp_migrate_req`` is on.)  Each worker runs
its own :class:`~reactor.loop.Reactor` on the inherited socket; the supervisor
never accepts, and never serves traffic itself.

The supervisor's own loop handles signals, the workers' reports
(:mod:`reactor.worker_report`) and, if asked, the status page that shows every
worker's connections.  A worker that dies is restarted; one that dies within
:data:`STARTUP_GRACE` seconds of its start counts as failing, and its slot
restarts after a back-off that doubles up to :data:`BACKOFF_MAX`, so a broken
plugin does not fork-bomb the machine.

Signals, in the manner of gunicorn and nginx:

- SIGTERM, SIGINT: every worker drains (SIGTERM to each: ``Reactor.shutdown``),
  and the supervisor exits once all have; a second signal stops them at once.
- SIGHUP: a graceful reload.  New workers start (they re-import the plugin);
  once every one of them has reported ready, the old ones drain.  Until then
  the old ones serve, so clients see no failed request, and a new generation
  that cannot start leaves the old one serving.
- SIGTTIN, SIGTTOU: one worker more, one fewer (at least one).

Workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group;
the supervisor decides), and drain if the supervisor vanishes.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reactor import metrics
from reactor.balance import SharedCounts
from reactor.loop import Reactor
from reactor.worker_report import WorkerConnection, decode_report, worker_families

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from reactor.protocol import ConnectionInfo, TimerHandle

__all__ = [
    "BACKOFF_FIRST",
    "BACKOFF_MAX",
    "STARTUP_GRACE",
    "Balance",
    "Supervisor",
    "SupervisorLoop",
    "WorkerState",
    "unblock_signals",
]

log = logging.getLogger(__name__)

STARTUP_GRACE = 1.0
"""A worker that exits sooner than this after its start failed to start."""
BACKOFF_FIRST = 0.25
"""The first delay before restarting a slot whose worker failed to start."""
BACKOFF_MAX = 30.0
"""The longest delay between two restarts of a failing slot."""
_KILL_GRACE = 5.0  # past the drain deadline, before SIGKILL

Balance = tuple[SharedCounts, int]
"""A worker's seat in the shared counts: the table and its entry."""

_HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTTIN, signal.SIGTTOU)


class WorkerState(enum.Enum):
    """Where a worker is in its life."""

    STARTING = "starting"  # forked, not reported yet
    READY = "ready"  # listening and reporting
    RETIRING = "retiring"  # draining: replaced by a reload, removed, or stopping


@dataclass(eq=False)
class _Worker:
    slot: int
    generation: int
    pid: int
    channel: socket.socket
    started: float
    state: WorkerState = WorkerState.STARTING
    buffer: bytearray = field(default_factory=bytearray)
    connections: tuple[WorkerConnection, ...] = ()
    families: list[metrics.Family] = field(default_factory=list)


class SupervisorLoop(Reactor):
    """The supervisor's reactor: its status page sees every worker's connections."""

    supervisor: Supervisor | None = None

    def service_connections(self) -> Iterator[ConnectionInfo]:
        """This process's connections, then every worker's as last reported."""
        yield from self.connections.values()
        if self.supervisor is not None:
            for worker in sorted(self.supervisor.workers.values(), key=lambda w: w.slot):
                yield from worker.connections

    def service_families(self) -> list[metrics.Family]:
        """What ``/metrics`` shows here: every worker's last reported families
        and this process's own, labelled by worker (:func:`worker_families`)."""
        workers = self.supervisor.workers.values() if self.supervisor is not None else ()
        reports = [(w.slot, w.generation, w.families) for w in workers]
        return worker_families(reports, metrics.collect(self))


class Supervisor:
    """Run ``count`` workers over one listening socket (see the module's text).

    ``spawn(sock, channel, slot, balance)`` runs in each forked worker and
    returns its exit status; ``sock`` is ``shared`` or, with ``bind``
    (``reuse_port``), what ``bind()`` returns in the worker.  ``balance`` is
    ``(counts, index)`` for a :class:`~reactor.balance.Balancer` on a shared
    socket, else ``None``.  ``drain_timeout`` is the workers'; ``on_ready``
    runs once, when the first ``count`` workers have all reported.
    """

    def __init__(
        self,
        loop: SupervisorLoop,
        spawn: Callable[[socket.socket, socket.socket, int, Balance | None], int],
        count: int,
        *,
        shared: socket.socket | None = None,
        bind: Callable[[], socket.socket] | None = None,
        drain_timeout: float = 10.0,
        on_ready: Callable[[], object] | None = None,
    ) -> None:
        if (shared is None) == (bind is None):
            raise ValueError("a supervisor needs either a shared socket or a bind function")
        if count < 1:
            raise ValueError(f"workers must be at least 1, got {count}")
        self.loop = loop
        loop.supervisor = self
        self.count = count
        """How many workers should run."""
        self.generation = 0
        self.workers: dict[int, _Worker] = {}
        """Live workers by pid."""
        self.restarts = 0
        """Workers started again after an unexpected exit."""
        self.stopping = False
        self._spawn_fn = spawn
        self.counts = SharedCounts() if shared is not None else None
        """The workers' connection counts, shared (made before any fork)."""
        self._shared = shared
        self._bind = bind
        self._drain_timeout = drain_timeout
        self._failures: dict[int, int] = {}  # slot -> consecutive failed starts
        self._pending: dict[int, TimerHandle] = {}  # slot -> scheduled restart
        self._kill_timer: TimerHandle | None = None
        self._on_ready = on_ready
        # at once: SIGTTIN's default action stops the process, SIGHUP's ends it
        for signum in (*_HANDLED, signal.SIGCHLD):
            loop.add_signal_handler(signum, self._on_signal, signum)

    # -- running ---------------------------------------------------------------------

    def run(self) -> int:
        """Start the workers, supervise until they are all gone; the exit status."""
        for slot in range(self.count):
            self._start(slot)
        self.loop.run()
        return 0

    def _start(self, slot: int) -> None:
        self._pending.pop(slot, None)
        if self.stopping:
            return
        parent, child = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        # Blocked across the fork: a signal meant for the new worker must not
        # run the supervisor's handlers in it (they would wake the supervisor's
        # loop, and be lost for the worker).  The worker unblocks them once its
        # own handlers are in place (unblock_signals), and gets what is pending.
        signal.pthread_sigmask(signal.SIG_BLOCK, _HANDLED)
        try:
            pid = os.fork()
        except OSError as exc:  # EAGAIN, ENOMEM: try again later
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
            parent.close()
            child.close()
            log.error("cannot start worker %d: %s; trying again in 1 s", slot, exc)
            self._pending[slot] = self.loop.call_later(1.0, self._start, slot)
            return
        if pid:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)
        else:  # the worker: never returns into the supervisor's loop
            status = 70
            try:
                parent.close()
                self._become_worker()
                balance = None
                if self.counts is not None:  # two generations meet during a reload
                    balance = (self.counts, slot * 2 + self.generation % 2)
                status = self._spawn_fn(self._listening_socket(), child, slot, balance)
            except BaseException as exc:
                log.error("worker %d failed: %s", slot, exc, exc_info=exc)
            finally:
                os._exit(status)
        child.close()
        parent.setblocking(False)
        worker = _Worker(slot, self.generation, pid, parent, self.loop.time())
        self.workers[pid] = worker
        self.loop.add_reader(parent, self._readable, worker)
        log.info("worker %d started (pid %d, generation %d)", slot, pid, self.generation)

    def _listening_socket(self) -> socket.socket:
        if self._shared is not None:
            return self._shared
        assert self._bind is not None, "checked in __init__"
        return self._bind()

    def _become_worker(self) -> None:
        """In the child: drop what belongs to the supervisor's loop, without touching it.

        The epoll instance is shared with the parent, so unregistering anything
        would unregister it there too: the supervisor's descriptors are covered
        with /dev/null instead, and its signal handling is undone.
        """
        signal.set_wakeup_fd(-1)
        for signum in (*_HANDLED, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDWR)
        keep = {self._shared.fileno()} if self._shared is not None else set()
        for fileobj in [self.loop.fileno(), *self.loop.selector.get_map()]:
            fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
            if fd not in keep:
                os.dup2(devnull, fd)
        os.close(devnull)
        for other in self.workers.values():
            other.channel.close()
        self.workers.clear()

    # -- reports -----------------------------------------------------------------------

    def _readable(self, worker: _Worker) -> None:
        try:
            data = worker.channel.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.loop.remove_reader(worker.channel)
            return
        worker.buffer += data
        end = worker.buffer.rfind(b"\n")
        if end < 0:
            return
        start = worker.buffer.rfind(b"\n", 0, end) + 1
        line = bytes(worker.buffer[start:end])
        del worker.buffer[: end + 1]
        try:
            report = decode_report(line)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("worker %d sent a bad report: %s", worker.slot, exc)
            return
        worker.connections, worker.families = report.connections, report.families
        if worker.state is WorkerState.STARTING:
            worker.state = WorkerState.READY
            self._failures.pop(worker.slot, None)
            self._check_reload()
            ready = sum(1 for w in self.workers.values() if w.state is WorkerState.READY)
            if self._on_ready is not None and ready >= self.count:
                callback, self._on_ready = self._on_ready, None
                callback()

    # -- signals ------------------------------------------------------------------------

    def _on_signal(self, signum: int) -> None:
        if signum == signal.SIGCHLD:
            self._reap()
        elif signum in (signal.SIGTERM, signal.SIGINT):
            self.stop(signal.Signals(signum).name)
        elif signum == signal.SIGHUP:
            self.reload()
        elif signum == signal.SIGTTIN:
            self.count += 1
            log.info("SIGTTIN: %d workers", self.count)
            self._start(self._free_slot())
        elif signum == signal.SIGTTOU:
            self.remove_one()

    def stop(self, why: str = "stop") -> None:
        """Drain every worker and exit once they are gone; again: stop them at once."""
        if self.stopping:
            log.info("%s again: stopping the workers now", why)
            self._signal_all(signal.SIGTERM)  # a worker's second SIGTERM stops it
            return
        self.stopping = True
        log.info("%s: draining %d worker(s)", why, len(self.workers))
        for timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        for worker in self.workers.values():
            worker.state = WorkerState.RETIRING
        self._signal_all(signal.SIGTERM)
        self._kill_timer = self.loop.call_later(self._drain_timeout + _KILL_GRACE, self._kill_all)
        self._maybe_done()

    def reload(self) -> None:
        """Start a new generation; the old one drains once it is ready."""
        if self.stopping:
            return
        self.generation += 1
        log.info("SIGHUP: starting generation %d (%d workers)", self.generation, self.count)
        for timer in self._pending.values():
            timer.cancel()
        self._pending.clear()
        for slot in range(self.count):
            self._start(slot)

    def remove_one(self) -> None:
        """One worker fewer (never below one): the highest slot drains."""
        if self.count <= 1:
            return
        self.count -= 1
        log.info("SIGTTOU: %d workers", self.count)
        for worker in self.workers.values():
            if worker.slot >= self.count and worker.state is not WorkerState.RETIRING:
                self._retire(worker)

    def _free_slot(self) -> int:
        used = {w.slot for w in self.workers.values() if w.generation == self.generation}
        return next(slot for slot in range(self.count) if slot not in used)

    def _check_reload(self) -> None:
        current = [w for w in self.workers.values() if w.generation == self.generation]
        ready = [w for w in current if w.state is WorkerState.READY]
        if len(ready) < self.count:
            return
        for worker in list(self.workers.values()):
            if worker.generation < self.generation and worker.state is not WorkerState.RETIRING:
                self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        worker.state = WorkerState.RETIRING
        log.info("worker %d (pid %d) drains", worker.slot, worker.pid)
        _kill(worker.pid, signal.SIGTERM)

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.workers):
            _kill(pid, signum)

    def _kill_all(self) -> None:
        self._kill_timer = None
        for pid in list(self.workers):
            log.warning("worker pid %d still running at the drain deadline: killed", pid)
            _kill(pid, signal.SIGKILL)

    # -- exits ----------------------------------------------------------------------------

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            worker = self.workers.pop(pid, None)
            if worker is not None:
                self._exited(worker, status)
        self._maybe_done()

    def _exited(self, worker: _Worker, status: int) -> None:
        self.loop.remove_reader(worker.channel)
        worker.channel.close()
        how = _describe_status(status)
        if worker.state is WorkerState.RETIRING:
            log.info("worker %d (pid %d) %s", worker.slot, worker.pid, how)
            return
        if self.stopping or worker.generation != self.generation or worker.slot >= self.count:
            return
        failed = worker.state is WorkerState.STARTING or (
            self.loop.time() - worker.started < STARTUP_GRACE
        )
        failures = self._failures.get(worker.slot, 0) + 1 if failed else 0
        self._failures[worker.slot] = failures
        delay = 0.0 if not failures else min(BACKOFF_FIRST * 2 ** (failures - 1), BACKOFF_MAX)
        log.warning(
            "worker %d (pid %d) %s; restarting in %.2f s", worker.slot, worker.pid, how, delay
        )
        self.restarts += 1
        self._pending[worker.slot] = self.loop.call_later(delay, self._start, worker.slot)

    def _maybe_done(self) -> None:
        if self.stopping and not self.workers:
            if self._kill_timer is not None:
                self._kill_timer.cancel()
                self._kill_timer = None
            log.info("every worker has stopped")
            self.loop.stop()


def unblock_signals() -> None:
    """In a worker, once its signal handlers are installed: take the signals
    that the supervisor kept blocked across the fork (and any pending one)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _HANDLED)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone: its SIGCHLD is on the way
        os.kill(pid, signum)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"
