"""A Redis-protocol (RESP2) key-value server: ``reactor serve resp``.

:mod:`~protocols.resp.parser` (wire format), :mod:`~protocols.resp.store`
(keyspace and expiry), :mod:`~protocols.resp.commands` and
:mod:`~protocols.resp.admin` (the command table) are sans-I/O;
:mod:`~protocols.resp.server` adapts them to the reactor.
"""

from __future__ import annotations

from protocols.resp.server import RespPlugin, RespService, plugin

__all__ = ["RespPlugin", "RespService", "plugin"]
