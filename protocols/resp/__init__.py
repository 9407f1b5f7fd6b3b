"""A Redis-protocol (RESP2 and RESP3) key-value server: ``reactor serve resp``.

:mod:`~protocols.resp.parser` (requests, RESP2 encoding),
:mod:`~protocols.resp.replies` (per-version reply shapes),
:mod:`~protocols.resp.store` (databases, keyspace and expiry), and the command
table -- :mod:`~protocols.resp.commands` (the table itself),
:mod:`~protocols.resp.session`, :mod:`~protocols.resp.strings`,
:mod:`~protocols.resp.bits`, :mod:`~protocols.resp.keys`,
:mod:`~protocols.resp.lists`, :mod:`~protocols.resp.clients`,
:mod:`~protocols.resp.admin` -- are sans-I/O; :mod:`~protocols.resp.server`
adapts them to the reactor and :mod:`~protocols.resp.settings` applies CONFIG
SET to it.
"""

from __future__ import annotations

from protocols.resp.server import RespPlugin, RespService, plugin

__all__ = ["RespPlugin", "RespService", "plugin"]
