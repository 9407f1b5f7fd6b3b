"""What the HTTP server counts: requests by method and status, and their latency.

A :class:`RequestMetrics` is shared by the connections of one listener
through its :class:`~protocols.http.config.HTTPConfig`, and shows itself in
the reactor's registry (:func:`reactor.metrics.registry_for`) as a collector.
Recording a request is on the request path, so it is kept to plain
arithmetic: a dictionary lookup for the method, an integer increment for the
status, a bisection into the latency buckets; the families are built only
when ``/metrics`` is scraped.  A method outside the standard ones counts as
``other``, so a peer cannot grow the number of series by inventing methods.
"""

from __future__ import annotations

import bisect

from reactor.metrics import Family, LagHistogram, Registry

__all__ = ["LATENCY_BUCKETS", "RequestMetrics"]

LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
"""Upper bounds (seconds) of ``selreactor_http_request_duration_seconds``."""

_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)


class _Method:
    __slots__ = ("latency", "statuses")

    def __init__(self) -> None:
        self.statuses: dict[int, int] = {}
        self.latency = LagHistogram(LATENCY_BUCKETS)


class RequestMetrics:
    """``selreactor_http_requests_total{method,status}`` and
    ``selreactor_http_request_duration_seconds{method}``: the time from a
    request complete to its response handed to the transport.

    ``registry`` (the reactor's, usually) shows them at every scrape.
    """

    __slots__ = ("_by_method",)

    def __init__(self, registry: Registry | None = None) -> None:
        self._by_method: dict[str, _Method] = {}
        if registry is not None:
            registry.add_collector(self.families)

    def record(self, method: str, status: int, seconds: float) -> None:
        """Count one request answered with ``status`` after ``seconds``."""
        figures = self._by_method.get(method)
        if figures is None:
            figures = self._add(method)
        statuses = figures.statuses
        statuses[status] = statuses.get(status, 0) + 1
        latency = figures.latency
        latency.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        latency.count += 1
        latency.sum += seconds

    def _add(self, method: str) -> _Method:
        if method not in _METHODS:
            figures = self._by_method.get("other")
            if figures is None:
                figures = self._by_method["other"] = _Method()
            return figures  # each unknown method is looked up again: a rare path
        figures = self._by_method[method] = _Method()
        return figures

    def families(self) -> list[Family]:
        """The two families, as they stand now."""
        requests = Family(
            "selreactor_http_requests_total",
            "counter",
            "HTTP requests answered, by method and status",
        )
        name = "selreactor_http_request_duration_seconds"
        latency = Family(
            name, "histogram", "Seconds from a complete HTTP request to its response written"
        )
        for method, figures in sorted(self._by_method.items()):
            for status, n in sorted(figures.statuses.items()):
                requests.add(n, {"method": method, "status": status})
            latency.samples.extend(figures.latency.samples(name, (("method", method),)))
        return [requests, latency]
