"""Metrics: the reactor's own figures, the plugins' registry, and Prometheus's text format.

Theory of operation.  The reactor's figures cost nothing on the hot path.
They are read when someone asks (a scrape of ``/metrics``, a poll of the
status page, an embedder calling :func:`collect`) from attributes that exist
anyway: a connection's ``bytes_in`` and ``bytes_out``, a listener's
``accepted`` and its table.  What has to be counted is counted on rare paths
with a plain integer: a listener adds a connection's bytes to its totals and
counts it closed when the connection is reaped (so the byte counters cover
closed connections without any work per read), a refusal bumps its reason, a
timeout that fires bumps its kind.  The loop counts its turns (one integer per
turn) and, for every timer it fires, how late the timer was: the loop's lag,
a :class:`~reactor.exposition.LagHistogram` (a bisection per timer fired,
nothing per event).

Everything else goes through a :class:`~reactor.exposition.Registry`: each
reactor has one (:func:`registry_for`) where its plugins count, and
:data:`REGISTRY` is the process's, for an embedding application::

    from reactor import metrics

    jobs = metrics.REGISTRY.counter("myapp_jobs_total", "Jobs done", ["kind"])
    jobs.labels("resize").inc()
    text = metrics.render(metrics.collect(reactor))   # what /metrics serves
    metrics.value(metrics.collect(reactor), "selreactor_connections_accepted_total")

The figures read from listeners and the loop are duck-typed (``getattr``
with a default), so a listener or loop that predates a figure simply leaves
it out.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, TypedDict

from reactor.exposition import (
    CONTENT_TYPE,
    LAG_BUCKETS,
    Collector,
    Counter,
    Family,
    Gauge,
    Histogram,
    LagHistogram,
    Registry,
    Sample,
    merge,
    render,
    value,
)
from reactor.protocol import format_peer

if TYPE_CHECKING:
    from reactor.protocol import ConnectionInfo

__all__ = [
    "CONTENT_TYPE",
    "LAG_BUCKETS",
    "OUTBOUND",
    "REFUSAL_REASONS",
    "REGISTRY",
    "TIMEOUT_KINDS",
    "Collector",
    "Counter",
    "Family",
    "Gauge",
    "Histogram",
    "LagHistogram",
    "ListenerFigures",
    "Registry",
    "Sample",
    "collect",
    "count_timeout",
    "families_from_json",
    "families_to_json",
    "listener_figures",
    "listener_of",
    "merge",
    "merge_workers",
    "note_refusal",
    "reactor_families",
    "registry_for",
    "render",
    "value",
]

TIMEOUT_KINDS = ("idle", "write", "connect", "handshake", "header", "body")
"""The kinds of ``selreactor_timeouts_total``, each shown whether it fired or not."""

REFUSAL_REASONS = (
    "max_connections",
    "max_per_peer",
    "factory",
    "emfile",
    "untrusted_proxy",
    "tls",
)
"""The reasons of ``selreactor_connections_refused_total``, each shown zero or not.

``emfile`` counts accept failing for lack of descriptors or kernel memory
(EMFILE, ENFILE, ENOBUFS, ENOMEM): the peer is not refused outright but waits
in the backlog while accepting pauses."""

OUTBOUND = "outbound"
"""The ``listener`` label of connections no listener accepted (``reactor.connect``)."""

REGISTRY = Registry()
"""The process's registry, for an embedding application's own metrics."""


class ListenerFigures(TypedDict):
    """One listener's figures (:func:`listener_figures`)."""

    address: str
    plugin: str
    active: int
    accepted: int
    closed: int
    refused: dict[str, int]
    timeouts: dict[str, int]
    bytes_in: int
    bytes_out: int
    paused_reading: int
    paused_writing: int
    max_connections: int | None
    max_per_peer: int | None
    overload: str | None
    accepting: bool | None


class _LoopFigures:
    """What is kept per reactor outside it: its registry, outbound timeouts."""

    __slots__ = ("registry", "timeouts")

    def __init__(self) -> None:
        self.registry = Registry()
        self.timeouts: dict[str, int] = {}


_LOOPS: weakref.WeakKeyDictionary[object, _LoopFigures] = weakref.WeakKeyDictionary()


def _figures(loop: object) -> _LoopFigures:
    found = _LOOPS.get(loop)
    if found is None:
        found = _LOOPS[loop] = _LoopFigures()
    return found


def registry_for(loop: object) -> Registry:
    """The registry of one reactor, where its plugins count (made on first call;
    it goes when the reactor does)."""
    return _figures(loop).registry


# -- counting on the rare paths -------------------------------------------------------


def listener_of(transport: object) -> object | None:
    """The listener whose table holds ``transport``, or ``None`` (an outbound
    connection).  A walk over the reactor's listeners: for rare paths only."""
    loop = getattr(transport, "loop", None)
    peer = getattr(transport, "peer", None)
    for listener in getattr(loop, "listeners", ()):
        table = getattr(listener, "connections", None)
        if isinstance(table, Mapping) and table.get(peer) is transport:
            found: object = listener
            return found
    return None


def _bump(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1


def count_timeout(where: object, kind: str) -> None:
    """Count a timeout of ``kind`` (one of :data:`TIMEOUT_KINDS`) that fired.

    ``where`` is the transport it fired on (it counts for that connection's
    listener) or, for a timeout with no connection yet (``connect``), the
    reactor.  A handler's own deadlines (HTTP's ``header`` and ``body``, a TLS
    ``handshake``) call this; so do the transport's idle and write timeouts.
    """
    listener = listener_of(where)
    timeouts = getattr(listener, "timeouts", None)
    if isinstance(timeouts, dict):
        _bump(timeouts, kind)
        return
    loop = getattr(where, "loop", where)
    _bump(_figures(loop).timeouts, kind)


def note_refusal(listener: object, reason: str) -> None:
    """Count a peer ``listener`` refused for ``reason`` (:data:`REFUSAL_REASONS`).

    For refusals decided outside the listener (an untrusted PROXY header, a
    failed TLS handshake); the listener counts its own limits itself.
    """
    refusals = getattr(listener, "refusals", None)
    if isinstance(refusals, dict):
        _bump(refusals, reason)


# -- reading the figures ----------------------------------------------------------------


def _int(obj: object, name: str) -> int:
    found = getattr(obj, name, 0)
    return found if isinstance(found, int) else 0


def _limit(obj: object, name: str) -> int | None:
    found = getattr(obj, name, None)
    return found if isinstance(found, int) else None


def listener_figures(listener: object) -> ListenerFigures:
    """One listener's figures as plain data (what ``/status.json`` shows).

    ``address``, ``plugin``, ``active``, ``accepted``, ``closed``,
    ``refused`` (by reason), ``timeouts`` (by kind), ``bytes_in`` and
    ``bytes_out`` (closed connections included), ``paused_reading``,
    ``paused_writing``, and the limits ``max_connections``, ``max_per_peer``,
    ``overload`` and whether it is ``accepting`` now.
    """
    table = getattr(listener, "connections", {})
    conns: list[ConnectionInfo] = list(table.values()) if isinstance(table, Mapping) else []
    refused = dict.fromkeys(REFUSAL_REASONS, 0)
    own = getattr(listener, "refusals", None)
    if isinstance(own, dict):
        refused.update(own)
    else:  # a listener that does not sort its refusals by reason
        refused["other"] = _int(listener, "rejected")
    refused["emfile"] = refused.get("emfile", 0) + _int(listener, "accept_errors")
    timeouts = dict.fromkeys(TIMEOUT_KINDS, 0)
    timeouts.update(getattr(listener, "timeouts", None) or {})
    address = getattr(listener, "address", ("", 0))
    overload = getattr(listener, "overload", None)
    overload = getattr(overload, "value", overload)
    accepting = getattr(listener, "is_accepting", None)
    return {
        "address": format_peer(address),
        "plugin": str(getattr(listener, "plugin", "") or ""),
        "active": len(conns),
        "accepted": _int(listener, "accepted"),
        "closed": _int(listener, "closed"),
        "refused": refused,
        "timeouts": timeouts,
        "bytes_in": _int(listener, "bytes_in_closed") + sum(c.bytes_in for c in conns),
        "bytes_out": _int(listener, "bytes_out_closed") + sum(c.bytes_out for c in conns),
        "paused_reading": sum(1 for c in conns if not c.is_reading()),
        "paused_writing": sum(1 for c in conns if c.writing_paused),
        "max_connections": _limit(listener, "max_connections"),
        "max_per_peer": _limit(listener, "max_per_peer"),
        "overload": None if overload is None else str(overload),
        "accepting": bool(accepting()) if callable(accepting) else None,
    }


def _listeners(reactor: object) -> list[object]:
    return [x for x in getattr(reactor, "listeners", ()) if hasattr(x, "connections")]


def _outbound(reactor: object, listeners: Iterable[object]) -> list[ConnectionInfo]:
    owned: set[int] = set()
    for listener in listeners:
        owned.update(c.id for c in getattr(listener, "connections", {}).values())
    table = getattr(reactor, "connections", {})
    return [c for c in table.values() if c.id not in owned]


def reactor_families(reactor: object) -> list[Family]:
    """The reactor's own figures, per listener (labels ``listener`` and
    ``plugin``), outbound connections under ``listener="outbound"``, and
    the loop's turns and lag."""
    active = Family("selreactor_connections_active", "gauge", "Connections open now")
    accepted = Family("selreactor_connections_accepted_total", "counter", "Connections accepted")
    closed = Family(
        "selreactor_connections_closed_total", "counter", "Accepted connections since closed"
    )
    refused = Family("selreactor_connections_refused_total", "counter", "Peers refused, by reason")
    received = Family(
        "selreactor_received_bytes_total", "counter", "Bytes received (closed connections too)"
    )
    sent = Family(
        "selreactor_sent_bytes_total", "counter", "Bytes handed to the kernel (closed too)"
    )
    timeouts = Family("selreactor_timeouts_total", "counter", "Timeouts fired, by kind")
    paused = Family(
        "selreactor_connections_paused",
        "gauge",
        "Connections paused for backpressure now, by direction",
    )
    listeners = _listeners(reactor)
    for listener in listeners:
        fig = listener_figures(listener)
        labels = {"listener": fig["address"], "plugin": fig["plugin"]}
        active.add(fig["active"], labels)
        accepted.add(fig["accepted"], labels)
        closed.add(fig["closed"], labels)
        for reason, n in fig["refused"].items():
            refused.add(n, {**labels, "reason": reason})
        received.add(fig["bytes_in"], labels)
        sent.add(fig["bytes_out"], labels)
        for kind, n in fig["timeouts"].items():
            timeouts.add(n, {**labels, "kind": kind})
        paused.add(fig["paused_reading"], {**labels, "direction": "reading"})
        paused.add(fig["paused_writing"], {**labels, "direction": "writing"})
    outbound = _outbound(reactor, listeners)
    labels = {"listener": OUTBOUND, "plugin": ""}
    active.add(len(outbound), labels)
    received.add(sum(c.bytes_in for c in outbound), labels)
    sent.add(sum(c.bytes_out for c in outbound), labels)
    extra = _LOOPS.get(reactor)
    for kind in TIMEOUT_KINDS:
        timeouts.add(
            extra.timeouts.get(kind, 0) if extra is not None else 0, {**labels, "kind": kind}
        )
    families = [active, accepted, closed, refused, received, sent, timeouts, paused]
    turns = getattr(reactor, "turns", None)
    if isinstance(turns, int):
        families.append(
            Family(
                "selreactor_loop_turns_total",
                "counter",
                "Turns of the event loop (polls)",
                [Sample("selreactor_loop_turns_total", (), turns)],
            )
        )
    lag = getattr(reactor, "timer_lag", None)
    if isinstance(lag, LagHistogram):
        name = "selreactor_loop_lag_seconds"
        families.append(Family(name, "histogram", "How late timers fired", lag.samples(name, ())))
    return families


def merge_workers(snapshots: Mapping[str, Iterable[Family]]) -> list[Family]:
    """Several processes' families as one, each sample labelled ``worker=KEY``.

    A supervisor of ``--workers N`` collects each worker's families (with
    :func:`families_to_json` over a pipe, say), then renders
    ``render(merge_workers({"0": f0, "1": f1, ...}))``.
    """
    labelled: list[Family] = []
    for worker, families in snapshots.items():
        for fam in families:
            labelled.append(
                Family(
                    fam.name,
                    fam.kind,
                    fam.help,
                    [
                        Sample(s.name, (("worker", str(worker)), *s.labels), s.value)
                        for s in fam.samples
                    ],
                )
            )
    return merge(labelled)


def families_to_json(families: Iterable[Family]) -> list[dict[str, object]]:
    """Families as plain JSON-ready data (for :func:`families_from_json`)."""
    return [
        {
            "name": fam.name,
            "kind": fam.kind,
            "help": fam.help,
            "samples": [[s.name, [list(p) for p in s.labels], s.value] for s in fam.samples],
        }
        for fam in families
    ]


def families_from_json(data: Iterable[Mapping[str, object]]) -> list[Family]:
    """The inverse of :func:`families_to_json`; :exc:`ValueError` for anything else."""
    families = []
    try:
        for item in data:
            raw = item["samples"]
            assert isinstance(raw, list)
            samples = [
                Sample(str(name), tuple((str(k), str(v)) for k, v in labels), float(number))
                for name, labels, number in raw
            ]
            families.append(
                Family(str(item["name"]), str(item["kind"]), str(item["help"]), samples)
            )
    except (KeyError, TypeError, AssertionError) as exc:
        raise ValueError(f"not a metrics snapshot: {exc!r}") from None
    return families


def collect(reactor: object) -> list[Family]:
    """Everything ``/metrics`` shows for ``reactor``: its own figures, its
    registry's (:func:`registry_for`), and the process's (:data:`REGISTRY`)."""
    return [*reactor_families(reactor), *registry_for(reactor).collect(), *REGISTRY.collect()]
