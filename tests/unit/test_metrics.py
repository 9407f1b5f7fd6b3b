"""The registry and the text exposition format, read back by prometheus_client's parser."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from reactor import metrics
from reactor.protocol import PeerKey


def parse(text: str) -> dict[str, Metric]:
    """Family name -> prometheus_client's Metric."""
    return {fam.name: fam for fam in text_string_to_metric_families(text)}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_counter_gauge_histogram_parse_back() -> None:
    registry = metrics.Registry()
    requests = registry.counter("app_requests_total", "Requests", ["method", "status"])
    requests.labels("GET", 200).inc()
    requests.labels("GET", 200).inc(2)
    requests.labels("POST", 500).inc()
    temperature = registry.gauge("app_temperature", "Degrees\nCelsius \\ or so")
    temperature.set(-3.5)
    latency = registry.histogram("app_latency_seconds", "Latency", ["method"], [0.1, 1])
    for seconds in (0.05, 0.1, 0.5, 3):
        latency.labels("GET").observe(seconds)
    text = metrics.render(registry.collect())
    families = parse(text)
    assert families["app_requests"].type == "counter"  # the parser drops _total
    assert families["app_temperature"].type == "gauge"
    assert families["app_temperature"].documentation == "Degrees\nCelsius \\ or so"
    assert families["app_latency_seconds"].type == "histogram"
    got = samples(text)
    assert got[("app_requests_total", (("method", "GET"), ("status", "200")))] == 3
    assert got[("app_requests_total", (("method", "POST"), ("status", "500")))] == 1
    assert got[("app_temperature", ())] == -3.5
    method = ("method", "GET")
    assert got[("app_latency_seconds_bucket", (("le", "0.1"), method))] == 2  # le is inclusive
    assert got[("app_latency_seconds_bucket", (("le", "1.0"), method))] == 3
    assert got[("app_latency_seconds_bucket", (("le", "+Inf"), method))] == 4
    assert got[("app_latency_seconds_count", (method,))] == 4
    assert got[("app_latency_seconds_sum", (method,))] == pytest.approx(3.65)
    assert text.endswith("\n")


@given(
    st.lists(
        st.tuples(st.text(max_size=20), st.floats(allow_nan=False)),
        min_size=1,
        max_size=8,
        unique_by=lambda pair: pair[0],
    )
)
def test_any_label_value_and_number_survive_the_parser(pairs: list[tuple[str, float]]) -> None:
    registry = metrics.Registry()
    gauge = registry.gauge("g", "any text", ["v"])
    for label, number in pairs:
        gauge.labels(label).set(number)
    got = samples(metrics.render(registry.collect()))
    for label, number in pairs:
        assert got[("g", (("v", label),))] == number


def test_nan_and_infinities() -> None:
    registry = metrics.Registry()
    g = registry.gauge("g", "", ["x"])
    g.labels("nan").set(math.nan)
    g.labels("inf").set(math.inf)
    g.labels("-inf").set(-math.inf)
    got = samples(metrics.render(registry.collect()))
    assert math.isnan(got[("g", (("x", "nan"),))])
    assert got[("g", (("x", "inf"),))] == math.inf
    assert got[("g", (("x", "-inf"),))] == -math.inf


def test_registry_returns_the_metric_already_registered_and_refuses_clashes() -> None:
    registry = metrics.Registry()
    first = registry.counter("a_total", "A", ["x"])
    assert registry.counter("a_total", "A", ["x"]) is first
    with pytest.raises(ValueError, match="other labels"):
        registry.counter("a_total", "A", ["y"])
    with pytest.raises(ValueError, match="already registered as a counter"):
        registry.gauge("a_total", "A", ["x"])
    with pytest.raises(ValueError, match="invalid metric name"):
        registry.counter("1bad", "")
    with pytest.raises(ValueError, match="invalid label name"):
        registry.counter("b_total", "", ["le"])
    with pytest.raises(ValueError, match="takes 1 label values"):
        first.labels()
    with pytest.raises(ValueError, match="only goes up"):
        registry.counter("c_total", "").inc(-1)
    with pytest.raises(ValueError, match="ascending"):
        registry.histogram("h", "", buckets=[2, 1])


def test_collectors_and_same_named_families_merge() -> None:
    registry = metrics.Registry()

    def collector() -> list[metrics.Family]:
        fam = metrics.Family("jobs_total", "counter", "Jobs")
        fam.add(2, {"kind": "a"})
        return [fam]

    registry.add_collector(collector)
    registry.add_collector(collector)  # two instances of one plugin: their samples add up
    text = metrics.render(registry.collect())
    assert text.count("# TYPE jobs_total counter") == 1
    assert samples(text)[("jobs_total", (("kind", "a"),))] == 4
    registry.remove_collector(collector)
    registry.remove_collector(collector)
    assert metrics.render(registry.collect()) == ""


def test_workers_are_labelled_and_snapshots_cross_json() -> None:
    registry = metrics.Registry()
    registry.counter("jobs_total", "Jobs").inc(5)
    registry.histogram("lag_seconds", "Lag", buckets=[1]).observe(0.5)
    snapshot = json.loads(json.dumps(metrics.families_to_json(registry.collect())))
    again = metrics.families_from_json(snapshot)
    merged = metrics.merge_workers({"0": registry.collect(), "1": again})
    text = metrics.render(merged)
    got = samples(text)
    assert got[("jobs_total", (("worker", "0"),))] == 5
    assert got[("jobs_total", (("worker", "1"),))] == 5
    assert got[("lag_seconds_bucket", (("le", "1.0"), ("worker", "1")))] == 1
    assert text.count("# TYPE lag_seconds histogram") == 1
    with pytest.raises(ValueError, match="not a metrics snapshot"):
        metrics.families_from_json([{"name": "x"}])


@dataclass
class FakeConnection:
    id: int
    peer: PeerKey
    bytes_in: int = 0
    bytes_out: int = 0
    reading: bool = True
    writing_paused: bool = False

    def is_reading(self) -> bool:
        return self.reading


@dataclass
class FakeListener:
    address: PeerKey
    plugin: str
    connections: dict[PeerKey, FakeConnection] = field(default_factory=dict)
    accepted: int = 0
    closed: int = 0
    rejected: int = 0
    accept_errors: int = 0
    bytes_in_closed: int = 0
    bytes_out_closed: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    max_connections: int | None = None


@dataclass(eq=False)  # hashed by identity, as a reactor is
class FakeReactor:
    listeners: list[FakeListener]
    connections: dict[int, FakeConnection]
    turns: int = 0
    timer_lag: metrics.LagHistogram = field(default_factory=metrics.LagHistogram)


def test_reactor_figures_per_listener_and_outbound() -> None:
    a = FakeConnection(1, ("127.0.0.1", 4000), 10, 20, reading=False)
    b = FakeConnection(2, ("127.0.0.1", 4001), 1, 2, writing_paused=True)
    out = FakeConnection(3, ("10.0.0.1", 80), 7, 8)
    listener = FakeListener(
        ("127.0.0.1", 5678),
        "echo",
        {a.peer: a, b.peer: b},
        accepted=5,
        closed=3,
        accept_errors=1,
        bytes_in_closed=100,
        bytes_out_closed=200,
        refusals={"max_per_peer": 2},
        timeouts={"idle": 4},
        max_connections=10,
    )
    reactor = FakeReactor([listener], {1: a, 2: b, 3: out}, turns=42)
    reactor.timer_lag.observe(0.002)
    metrics.count_timeout(reactor, "connect")  # no connection: counts as outbound
    text = metrics.render(metrics.collect(reactor))
    got = samples(text)
    echo = (("listener", "127.0.0.1:5678"), ("plugin", "echo"))
    outbound = (("listener", "outbound"), ("plugin", ""))
    assert got[("selreactor_connections_active", echo)] == 2
    assert got[("selreactor_connections_active", outbound)] == 1
    assert got[("selreactor_connections_accepted_total", echo)] == 5
    assert got[("selreactor_connections_closed_total", echo)] == 3
    assert got[("selreactor_received_bytes_total", echo)] == 111
    assert got[("selreactor_sent_bytes_total", echo)] == 222
    assert got[("selreactor_received_bytes_total", outbound)] == 7
    assert got[("selreactor_connections_refused_total", (*echo, ("reason", "max_per_peer")))] == 2
    assert got[("selreactor_connections_refused_total", (*echo, ("reason", "emfile")))] == 1
    assert got[("selreactor_connections_refused_total", (*echo, ("reason", "tls")))] == 0
    assert got[("selreactor_timeouts_total", (("kind", "idle"), *echo))] == 4
    assert got[("selreactor_timeouts_total", (("kind", "connect"), *outbound))] == 1
    assert got[("selreactor_connections_paused", (("direction", "reading"), *echo))] == 1
    assert got[("selreactor_connections_paused", (("direction", "writing"), *echo))] == 1
    assert got[("selreactor_loop_turns_total", ())] == 42
    assert got[("selreactor_loop_lag_seconds_bucket", (("le", "0.0025"),))] == 1
    assert got[("selreactor_loop_lag_seconds_bucket", (("le", "0.001"),))] == 0
    assert metrics.value(metrics.collect(reactor), "selreactor_connections_active") == 3
    assert metrics.listener_figures(listener)["max_connections"] == 10


def test_a_listener_without_reasons_reports_its_refusals_as_other() -> None:
    @dataclass
    class OldListener:
        address: PeerKey
        connections: dict[PeerKey, FakeConnection]
        rejected: int = 3

    fig = metrics.listener_figures(OldListener(("::1", 80), {}))
    assert fig["address"] == "[::1]:80"
    assert fig["refused"]["other"] == 3
    assert fig["closed"] == 0


def test_each_reactor_has_its_own_registry() -> None:
    one, two = FakeReactor([], {}), FakeReactor([], {})
    metrics.registry_for(one).counter("mine_total", "").inc()
    assert metrics.value(metrics.collect(one), "mine_total") == 1
    assert metrics.value(metrics.collect(two), "mine_total") is None
