"""The limits and timeouts shared by the connections of one HTTP listener."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from protocols.http.events import Limits

if TYPE_CHECKING:
    from protocols.http.metrics import RequestMetrics

__all__ = ["HTTPConfig"]


def _seconds(name: str, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
    return value


class HTTPConfig:
    """Limits and timeouts shared by the connections of one listener.

    ``header_timeout``: seconds a request head may take (408 after; 0: off).
    ``body_timeout`` and ``body_min_rate``: a request body must arrive within
    ``body_timeout`` seconds, extended by one second per ``body_min_rate``
    bytes received, as Apache's mod_reqtimeout ``body=20,MinRate=500`` (408
    after).  ``body_timeout=0`` turns the body deadline off;
    ``body_min_rate=0`` makes it fixed.  ``keepalive_timeout``: seconds an
    idle keep-alive connection is kept (0: off).  ``metrics``: where requests
    are counted (``reactor serve http`` passes the reactor's; ``None``: nowhere).
    """

    __slots__ = (
        "body_min_rate",
        "body_timeout",
        "header_timeout",
        "keepalive_timeout",
        "limits",
        "metrics",
        "pipeline_budget",
        "stream_budget",
    )

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        header_timeout: float = 10.0,
        keepalive_timeout: float = 15.0,
        body_timeout: float = 20.0,
        body_min_rate: float = 500.0,
        pipeline_budget: int = 32,
        stream_budget: int = 16,
        metrics: RequestMetrics | None = None,
    ) -> None:
        self.limits = Limits() if limits is None else limits
        self.header_timeout = header_timeout
        self.keepalive_timeout = keepalive_timeout
        self.body_timeout = _seconds("body_timeout", body_timeout)
        if not math.isfinite(body_min_rate) or body_min_rate < 0:
            raise ValueError(f"body_min_rate must be a finite rate >= 0, not {body_min_rate!r}")
        self.body_min_rate = body_min_rate
        self.pipeline_budget = pipeline_budget
        self.stream_budget = stream_budget
        self.metrics = metrics
