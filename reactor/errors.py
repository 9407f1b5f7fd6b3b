"""Reporting failures nobody else can handle, and keeping them cheap to hold.

:func:`log_context` is what the reactor's default exception handler does
with a failure's context (a failed callback, a ``connection_lost`` that
raised).  :func:`drop_tracebacks` strips an exception that is kept after it
was logged: its frames would otherwise keep whatever they referenced alive.
:exc:`ProtocolError` is the peer's fault rather than ours (re-exported by
:mod:`reactor.protocol`, where plugins find it).
"""

from __future__ import annotations

import logging

__all__ = ["ProtocolError", "drop_tracebacks", "log_context"]


class ProtocolError(Exception):
    """The peer broke the protocol: close that connection, log at info.

    Raised by parsers and framers.  It is the peer's fault, not a bug here,
    so the reactor logs it with the peer key and aborts only that connection.
    """


def log_context(log: logging.Logger, context: dict[str, object]) -> None:
    """Log ``context`` on ``log`` at error level, with the traceback when there is one.

    ``message`` leads; the other keys but ``exception`` follow as ``k=v``.
    """
    exc = context.get("exception")
    details = ", ".join(
        f"{k}={v!r}" for k, v in context.items() if k not in ("message", "exception")
    )
    message = str(context.get("message", "unhandled error"))
    if details:
        message = f"{message} ({details})"
    if isinstance(exc, BaseException):
        log.error("%s", message, exc_info=(type(exc), exc, exc.__traceback__))
    else:
        log.error("%s", message)


def drop_tracebacks(exc: BaseException) -> None:
    """Strip the tracebacks of ``exc`` and of the exceptions chained to it.

    Their frames reference the connection and its buffers (and the
    connection references ``exc``): a cycle only the garbage collector could
    break.  The traceback of a handler's bug was logged before this.
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        item.__traceback__ = None
        todo += (item.__cause__, item.__context__)
