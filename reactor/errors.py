"""Reporting failures nobody else can handle, and keeping them cheap to hold.

:func:`log_context` is what the reactor's default exception handler does
with a failure's context (a failed callback, a ``connection_lost`` that
raised).  :func:`log_failure` is how a connection's failure is logged, and
:func:`hook_failed` how a failing optional handler hook is told from an
absent one: the real connection and the test kit's memory transport both
use them, so the two report alike.  :func:`drop_tracebacks` strips an
exception that is kept after it was logged: its frames would otherwise keep
whatever they referenced alive.  :exc:`ProtocolError` is the peer's fault
rather than ours (re-exported by :mod:`reactor.protocol`, where plugins find
it, as is :func:`missing_hook`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "ProtocolError",
    "drop_tracebacks",
    "hook_failed",
    "log_context",
    "log_failure",
    "missing_hook",
]


class ProtocolError(Exception):
    """The peer broke the protocol: close that connection, log at info.

    Raised by parsers and framers.  It is the peer's fault, not a bug here,
    so the reactor logs it with the peer key and aborts only that connection.
    """


def log_failure(log: logging.Logger, peer: object, exc: Exception, hook: str = "") -> None:
    """Log why the connection to ``peer`` is closed: the peer's protocol error
    at info, a socket error at debug, anything else (a bug in a handler, in
    its hook ``hook`` if given) at error with the traceback."""
    if isinstance(exc, ProtocolError):  # the peer broke the protocol
        log.info("closing %s: %s", peer, exc)
    elif isinstance(exc, OSError):  # resets are routine
        log.debug("closing %s: %s", peer, exc)
    elif hook:  # a bug in a handler: loud, but contained to this connection
        log.error("handler failed for %s in %s()", peer, hook, exc_info=exc)
    else:
        log.error("handler failed for %s", peer, exc_info=exc)


def missing_hook(exc: BaseException, handler: object, name: str) -> bool:
    """Whether ``exc``, raised by calling ``handler.name()``, says the hook is absent.

    A handler need not subclass :class:`~reactor.protocol.BaseHandler`; one
    written before a hook existed may lack it, and gets the default.  An
    ``AttributeError`` from inside the hook is a bug in it, and this tells
    the two apart.  (Re-exported by :mod:`reactor.protocol`.)
    """
    return isinstance(exc, AttributeError) and exc.name == name and exc.obj is handler


def hook_failed(
    exc: Exception, handler: object, name: str, on_error: Callable[[Exception, str], object]
) -> bool:
    """``handler.name()`` raised ``exc``: true if the handler just lacks the hook.

    Otherwise ``on_error(exc, name)`` is called, which aborts the
    connection the hook belongs to (whoever's callback it ran in: handler
    A's write may cross B's high-water mark), and the caller carries on.
    """
    if missing_hook(exc, handler, name):
        return True
    on_error(exc, name)
    return False


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
