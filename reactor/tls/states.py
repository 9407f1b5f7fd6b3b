"""The states of a TLS connection."""

from __future__ import annotations

import enum

__all__ = ["TLSState"]


class TLSState(enum.Enum):
    """Where a TLS connection is in its life."""

    HANDSHAKING = "handshaking"
    OPEN = "open"
    CLOSING = "closing"  # close() called, or the connection is going
    CLOSED = "closed"  # connection_lost has been called
