"""Checks for the numeric options of listeners, connectors and connections.

One place, so that ``Reactor.listen``, ``Reactor.connect`` and the setters of
:class:`~reactor.transport.Connection` refuse the same bad values with the same
words.  A bad value is refused where it is given, with a :exc:`ValueError`
(or :exc:`TypeError` for something that is not a number at all) naming the
option; it never reaches a connection, where it would fail once per accept or
make the loop spin (a ``nan`` deadline is always due).

Timeouts follow one rule: ``None`` or ``0`` means off (Redis's ``timeout 0``
is read that way by its users), as does infinity; any other value must be a
positive number of seconds.  The functions return the value to store, so the
caller keeps ``None`` for "off" and the hot path tests one thing.
"""

from __future__ import annotations

import dataclasses
import math

__all__ = [
    "DEFAULT_HIGH_WATER",
    "DEFAULT_LOW_WATER",
    "DEFAULT_READ_SIZE",
    "ConnectionOptions",
    "check_count",
    "check_delay",
    "check_port",
    "check_timeout",
    "check_water_marks",
]

_MAX_PORT = 65535

DEFAULT_READ_SIZE = 64 * 1024
"""The most one ``recv`` takes per readiness event (the fairness bound)."""
DEFAULT_HIGH_WATER = 64 * 1024
"""Write-buffer size above which the handler gets ``pause_writing()``."""
DEFAULT_LOW_WATER = 16 * 1024
"""Write-buffer size below which a paused handler gets ``resume_writing()``."""


def _number(name: str, value: object) -> float:
    # bool is an int, but timeout=True is a mistake, not one second
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must be a number of seconds, not nan")
    return float(value)


def check_timeout(name: str, value: float | None) -> float | None:
    """``value`` as a timeout option: ``None`` for off, else positive seconds.

    ``None``, ``0`` and infinity mean no timeout and give ``None``; a negative
    number or ``nan`` raises :exc:`ValueError` naming the option.
    """
    if value is None:
        return None
    seconds = _number(name, value)
    if seconds < 0:
        raise ValueError(f"{name} must be >= 0 seconds (0 or None: no timeout), not {value!r}")
    if seconds == 0 or math.isinf(seconds):
        return None
    return seconds


def check_delay(name: str, value: float) -> float:
    """``value`` as a finite delay in seconds, ``0`` included (``0``: at once)."""
    seconds = _number(name, value)
    if not 0 <= seconds < math.inf:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
    return seconds


def check_count(name: str, value: int, minimum: int) -> int:
    """``value`` as an integer option of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, not {value!r}")
    return value


def check_water_marks(
    high: int | None,
    low: int | None,
    *,
    default_high: int,
    names: tuple[str, str] = ("high_water", "low_water"),
) -> tuple[int, int]:
    """The ``(high, low)`` write-buffer water marks, defaults filled in.

    ``low`` defaults to a quarter of ``high``, ``high`` to four times ``low``
    (``default_high`` when neither is given).  Both must be integers >= 0
    with ``low`` not above ``high``; ``names`` are the option names the
    error uses.
    """
    high_name, low_name = names
    if high is not None:
        check_count(high_name, high, 0)
    if low is not None:
        check_count(low_name, low, 0)
    if high is None:
        high = default_high if low is None else 4 * low
    if low is None:
        low = high // 4
    if low > high:
        raise ValueError(f"{low_name} ({low}) must not be above {high_name} ({high})")
    return high, low


def check_port(port: int, *, name: str = "port", allow_zero: bool = True) -> int:
    """``port`` as a TCP port: 1..65535, or 0 too (any free port) when listening.

    The C library would silently take a larger number modulo 65536
    (``70000`` becomes ``4464``), so the range is checked here.
    """
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f"{name} must be an integer, not {port!r}")
    lowest = 0 if allow_zero else 1
    if not lowest <= port <= _MAX_PORT:
        raise ValueError(f"{name} must be in {lowest}..{_MAX_PORT}, not {port}")
    return port


@dataclasses.dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """The options of a connection, checked once when made.

    A listener or connector makes one for all its connections, so a bad
    value is a :exc:`ValueError` (or :exc:`TypeError`) naming it at the
    ``listen()``/``connect()`` call, never a failure per accept.  After the
    checks ``idle_timeout``/``write_timeout`` are ``None`` for off and
    ``low_water`` is filled in (a quarter of ``high_water`` by default).
    """

    idle_timeout: float | None = None
    """Seconds without I/O before the handler's ``timeout()``; ``None``/``0``: off."""
    write_timeout: float | None = None
    """Seconds queued output may make no progress before an abort; ``None``/``0``: off."""
    read_size: int = DEFAULT_READ_SIZE
    """The most one ``recv`` takes (at least 1)."""
    high_water: int = DEFAULT_HIGH_WATER
    """Write-buffer size above which the handler gets ``pause_writing()``."""
    low_water: int | None = None
    """Write-buffer size below which it gets ``resume_writing()``."""
    nodelay: bool = True
    """TCP_NODELAY on TCP sockets."""
    keepalive: bool = False
    """SO_KEEPALIVE on TCP sockets."""

    def __post_init__(self) -> None:
        """Check every value (reactor.options' rules) and fill in the defaults."""
        set_ = object.__setattr__  # frozen: the checked values replace the given ones
        set_(self, "idle_timeout", check_timeout("idle_timeout", self.idle_timeout))
        set_(self, "write_timeout", check_timeout("write_timeout", self.write_timeout))
        check_count("read_size", self.read_size, 1)  # recv(0) would read as the peer's EOF
        high, low = check_water_marks(
            self.high_water, self.low_water, default_high=DEFAULT_HIGH_WATER
        )
        set_(self, "high_water", high)
        set_(self, "low_water", low)

    @property
    def low(self) -> int:
        """The low-water mark as checked: ``low_water``, filled in when it was ``None``."""
        return self.low_water if self.low_water is not None else self.high_water // 4
