"""CONFIG SET of the parameters the server acts on: hz, the query limits, timeout, maxclients.

:mod:`protocols.resp.admin` checks the name and, for the parameters that
only describe behaviour the server has anyway (``appendonly no``), the
value; the ones here change how the service runs, so the service applies
them: ``hz`` re-times active expiry, ``proto-max-bulk-len`` and
``client-query-buffer-limit`` apply to every connection's parser from its
next length.  ``timeout`` and ``maxclients`` belong to the listener
(``reactor serve --idle-timeout``, ``--max-connections``): setting them to
what they already are is accepted, anything else is a clear error.
"""

from __future__ import annotations

import resource
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protocols.resp.server import RespService

__all__ = ["configure", "max_clients_figure", "parse_memory"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1024,
    "m": 1000**2,
    "mb": 1024**2,
    "g": 1000**3,
    "gb": 1024**3,
}


def parse_memory(text: str) -> int | None:
    """A size as Redis's memtoull reads it: ``1gb``, ``512mb``, ``100k``, ``42``."""
    lowered = text.strip().lower()
    digits = lowered.rstrip("kmgb")
    unit = lowered[len(digits) :]
    if not digits.isdigit() or unit not in _UNITS:
        return None
    return int(digits) * _UNITS[unit]


def max_clients_figure(max_clients: int) -> int:
    """INFO's maxclients: the listener's limit, else what the descriptor limit allows.

    Redis keeps 32 descriptors for itself and reports the rest.
    """
    if max_clients:
        return max_clients
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(soft - 32, 1) if soft != resource.RLIM_INFINITY else 10000


def _hz(service: RespService, value: str) -> str | None:
    if not value.isdigit() or not 1 <= int(value) <= 500:
        return "argument must be between 1 and 500 inclusive"
    service.period = 1.0 / int(value)
    return None


def _limit(service: RespService, name: str, value: str) -> str | None:
    size = parse_memory(value)
    if size is None or size < 1024 * 1024:
        return "argument must be a memory value of at least 1mb"
    if name == "proto-max-bulk-len":
        service.max_bulk = size
        service.commands.bits.max_bulk = size
        for handler in service.handlers.values():
            handler.parser.set_limits(max_bulk=size)
    else:
        service.max_query = size
        service.commands.transactions.max_queued = size
        for handler in service.handlers.values():
            handler.parser.set_limits(max_query=size)
    return None


def configure(service: RespService, name: str, value: str) -> str | None:
    """Apply ``name value`` to ``service``; an error text, or None when applied."""
    if name == "hz":
        return _hz(service, value)
    if name in ("proto-max-bulk-len", "client-query-buffer-limit"):
        return _limit(service, name, value)
    if name == "timeout" and value != "0":
        return "idle timeouts are set with `reactor serve --idle-timeout`"
    if name == "maxclients" and value != str(max_clients_figure(service.max_clients)):
        return "the connection limit is set with `reactor serve --max-connections`"
    return None
