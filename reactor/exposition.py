"""Prometheus's text exposition format (0.0.4) and a small registry of metrics.

A :class:`Counter`, :class:`Gauge` or :class:`Histogram` lives in a
:class:`Registry`, optionally with labels (``labels(*values)`` returns the
child for those values, made once and reused); a registry may also call
collector functions at scrape time, which return :class:`Family` objects
built from figures kept elsewhere.  :func:`render` writes families as the
text format, merging same-named ones.  No dependency beyond the standard
library; no locks (a reactor is one thread).

:mod:`reactor.metrics` re-exports all of this with the reactor's own figures.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Generic, NamedTuple, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "LAG_BUCKETS",
    "Collector",
    "Counter",
    "Family",
    "Gauge",
    "Histogram",
    "LagHistogram",
    "Registry",
    "Sample",
    "merge",
    "render",
    "value",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The ``Content-Type`` of :func:`render`'s text."""

LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Upper bounds (seconds) of the loop-lag histogram; ``+Inf`` is implied."""

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_KINDS = ("counter", "gauge", "histogram")

Labels = tuple[tuple[str, str], ...]


class Sample(NamedTuple):
    """One line of the exposition: ``name{labels} value``."""

    name: str
    """The sample's name (a histogram's end in ``_bucket``, ``_sum``, ``_count``)."""
    labels: Labels
    """``(name, value)`` pairs, in order."""
    value: float
    """The number."""


class Family:
    """A metric's samples under one ``# HELP`` and ``# TYPE``."""

    __slots__ = ("help", "kind", "name", "samples")

    def __init__(
        self, name: str, kind: str, help: str, samples: list[Sample] | None = None
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        if kind not in _KINDS:
            raise ValueError(f"metric kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        self.name = name
        """The family's name; a counter's ends in ``_total``."""
        self.kind = kind
        """``counter``, ``gauge`` or ``histogram``."""
        self.help = help
        """One line saying what it measures."""
        self.samples: list[Sample] = [] if samples is None else samples
        """The lines, in order."""

    def add(
        self, value: float, labels: Mapping[str, object] | None = None, suffix: str = ""
    ) -> None:
        """Append the sample ``name+suffix{labels} value``."""
        pairs = () if not labels else tuple((k, str(v)) for k, v in labels.items())
        self.samples.append(Sample(self.name + suffix, pairs, value))

    def __repr__(self) -> str:
        return f"<Family {self.name} {self.kind} {len(self.samples)} samples>"


# -- metrics ---------------------------------------------------------------------


class _Value:
    """One labelled child of a counter or gauge."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float = 0  # an int until a float is added: it prints as one

    def inc(self, amount: float = 1) -> None:
        """Add ``amount``."""
        self.value += amount

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` (gauges)."""
        self.value -= amount

    def set(self, value: float) -> None:
        """Set the value (gauges)."""
        self.value = value


class LagHistogram:
    """Observations counted into buckets: one child of a :class:`Histogram`.

    :meth:`observe` is a bisection and three additions; the buckets are
    cumulated only when rendered.
    """

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float] = LAG_BUCKETS) -> None:
        self.bounds = tuple(bounds)
        """The upper bounds, ascending (``+Inf`` implied)."""
        self.counts = [0] * (len(self.bounds) + 1)
        """Observations per bucket, not cumulated; the last one is ``+Inf``'s."""
        self.count = 0
        """Observations so far."""
        self.sum = 0.0
        """Their sum."""

    def observe(self, value: float) -> None:
        """Count one observation."""
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value

    def samples(self, name: str, labels: Labels) -> list[Sample]:
        """``_bucket`` (cumulative, ``le`` last), ``_sum`` and ``_count`` samples."""
        out = []
        running = 0
        for bound, n in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += n
            out.append(
                Sample(
                    name + "_bucket",
                    (*labels, ("le", "+Inf" if bound == math.inf else repr(bound))),
                    running,
                )
            )
        out.append(Sample(name + "_sum", labels, self.sum))
        out.append(Sample(name + "_count", labels, self.count))
        return out


C = TypeVar("C", "_Value", LagHistogram)


class _Metric(Generic[C]):
    kind = ""

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not _NAME.match(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL.match(label) or label.startswith("__") or label in ("le", "worker"):
                raise ValueError(f"invalid label name {label!r} for {name}")
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._children: dict[tuple[object, ...], C] = {}

    def labels(self, *values: object) -> C:
        """The child for these label values (made on first use, then reused)."""
        child = self._children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(
                    f"{self.name} takes {len(self.labelnames)} label values "
                    f"({', '.join(self.labelnames)}), got {len(values)}"
                )
            child = self._children[values] = self._new_child()
        return child

    def _new_child(self) -> C:
        raise NotImplementedError

    def _pairs(self, values: tuple[object, ...]) -> Labels:
        return tuple(zip(self.labelnames, (str(v) for v in values), strict=True))

    def family(self) -> Family:
        """The metric's samples now."""
        fam = Family(self.name, self.kind, self.help)
        for values, child in self._children.items():
            if isinstance(child, LagHistogram):
                fam.samples.extend(child.samples(self.name, self._pairs(values)))
            else:
                fam.samples.append(Sample(self.name, self._pairs(values), child.value))
        return fam


class Counter(_Metric[_Value]):
    """A count that only goes up; its name should end in ``_total``.

    Without labels, :meth:`inc` counts; with them, ``labels(*values).inc()``.
    """

    kind = "counter"

    def _new_child(self) -> _Value:
        return _Value()

    def inc(self, amount: float = 1) -> None:
        """Add ``amount`` to the unlabelled metric (a counter's must be >= 0)."""
        if amount < 0 and self.kind == "counter":
            raise ValueError("a counter only goes up")
        self.labels().inc(amount)


class Gauge(Counter):
    """A value that goes up and down: ``set``, ``inc``, ``dec``."""

    kind = "gauge"

    def dec(self, amount: float = 1) -> None:
        """Subtract ``amount`` from the unlabelled gauge."""
        self.labels().dec(amount)

    def set(self, value: float) -> None:
        """Set the unlabelled gauge."""
        self.labels().set(value)


class Histogram(_Metric[LagHistogram]):
    """Observations in buckets (upper bounds in ``buckets``, ``+Inf`` implied)."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LAG_BUCKETS,
    ) -> None:
        bounds = tuple(float(b) for b in buckets if b != math.inf)
        if not bounds or list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: buckets must be ascending and distinct")
        self.buckets = bounds
        """The upper bounds."""
        super().__init__(name, help, labelnames)

    def _new_child(self) -> LagHistogram:
        return LagHistogram(self.buckets)

    def observe(self, value: float) -> None:
        """Count one observation in the unlabelled histogram."""
        self.labels().observe(value)


M = TypeVar("M", bound="Counter | Histogram")
Collector = Callable[[], Iterable[Family]]
"""A function a registry calls at every scrape: it returns families."""


class Registry:
    """Named metrics and collector functions, rendered together.

    :meth:`counter`, :meth:`gauge` and :meth:`histogram` make a metric or
    return the one already registered under that name (so every listener of
    a plugin shares it); a name taken by another kind or other labels is a
    :exc:`ValueError`.
    """

    def __init__(self) -> None:
        self._metrics: dict[str, Counter | Histogram] = {}
        self._collectors: list[Collector] = []

    def _get(self, cls: type[M], name: str, make: Callable[[], M]) -> M:
        metric = self._metrics.get(name)
        if metric is None:
            metric = make()
            self.register(metric)
        if type(metric) is not cls:
            raise ValueError(f"metric {name} is already registered as a {metric.kind}")
        assert isinstance(metric, cls)
        return metric

    def register(self, metric: Counter | Histogram) -> None:
        """Add a metric made elsewhere; its name must be free."""
        if metric.name in self._metrics:
            raise ValueError(f"metric {metric.name} is already registered")
        self._metrics[metric.name] = metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        """The :class:`Counter` ``name``, made on first call."""
        return self._check(
            self._get(Counter, name, lambda: Counter(name, help, labelnames)), labelnames
        )

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        """The :class:`Gauge` ``name``, made on first call."""
        return self._check(
            self._get(Gauge, name, lambda: Gauge(name, help, labelnames)), labelnames
        )

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = LAG_BUCKETS,
    ) -> Histogram:
        """The :class:`Histogram` ``name``, made on first call."""
        made = self._get(Histogram, name, lambda: Histogram(name, help, labelnames, buckets))
        return self._check(made, labelnames)

    @staticmethod
    def _check(metric: M, labelnames: Sequence[str]) -> M:
        if metric.labelnames != tuple(labelnames):
            raise ValueError(f"metric {metric.name} is already registered with other labels")
        return metric

    def add_collector(self, collector: Collector) -> None:
        """Call ``collector()`` at every scrape; it returns :class:`Family` objects."""
        self._collectors.append(collector)

    def remove_collector(self, collector: Collector) -> None:
        """Stop calling ``collector`` (harmless if it was not added)."""
        if collector in self._collectors:
            self._collectors.remove(collector)

    def collect(self) -> list[Family]:
        """Every metric's family, then every collector's."""
        families = [metric.family() for metric in self._metrics.values()]
        for collector in list(self._collectors):
            families.extend(collector())
        return families


# -- rendering ----------------------------------------------------------------------


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    if value == -math.inf:
        return "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Labels) -> str:
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def merge(families: Iterable[Family]) -> list[Family]:
    """One family per name, in first-seen order; equal samples (same name and
    labels, from two collectors of one kind) are added up."""
    merged: dict[str, Family] = {}
    index: dict[str, dict[tuple[str, Labels], int]] = {}
    for fam in families:
        into = merged.get(fam.name)
        if into is None:
            into = merged[fam.name] = Family(fam.name, fam.kind, fam.help)
            index[fam.name] = {}
        elif into.kind != fam.kind:
            raise ValueError(f"metric {fam.name} is both a {into.kind} and a {fam.kind}")
        seen = index[fam.name]
        for sample in fam.samples:
            key = (sample.name, sample.labels)
            at = seen.get(key)
            if at is None:
                seen[key] = len(into.samples)
                into.samples.append(sample)
            else:
                old = into.samples[at]
                into.samples[at] = Sample(old.name, old.labels, old.value + sample.value)
    return list(merged.values())


def render(families: Iterable[Family]) -> str:
    """The text exposition format 0.0.4 (:data:`CONTENT_TYPE`) of ``families``."""
    out = []
    for fam in merge(families):
        help_text = fam.help.replace("\\", "\\\\").replace("\n", "\\n")
        out.append(f"# HELP {fam.name} {help_text}\n# TYPE {fam.name} {fam.kind}\n")
        out.extend(f"{s.name}{_labels(s.labels)} {_number(s.value)}\n" for s in fam.samples)
    return "".join(out)


def value(families: Iterable[Family], name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels`` (summed
    over the samples that match), or ``None`` when none does."""
    total: float | None = None
    wanted = set(labels.items())
    for fam in families:
        for sample in fam.samples:
            if sample.name == name and wanted <= set(sample.labels):
                total = (total or 0) + sample.value
    return total
