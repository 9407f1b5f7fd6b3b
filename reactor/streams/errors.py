"""gen_tcp's ``{error, Reason}`` results as exceptions."""

from __future__ import annotations

__all__ = ["Closed", "NotOwner", "NotPassive", "StreamError", "Timeout"]


class StreamError(Exception):
    """The base of the errors of :mod:`reactor.streams`."""


class Closed(StreamError):
    """``{error, closed}``: the socket is closed (by the peer, after all its data, or here).

    When the connection was lost to an error (a reset), that error is the
    ``__cause__``.  ``accept()`` on a closed listen socket raises it too.
    """


class Timeout(StreamError, TimeoutError):
    """``{error, timeout}``: nothing came in time; the socket is still usable."""


class NotOwner(StreamError):
    """``{error, not_owner}``: only the task that owns the socket may do this."""


class NotPassive(StreamError):
    """``{error, einval}`` of ``recv``: the socket is in an active mode; read its messages."""
