"""The application side of the HTTP server: requests, responses, routes.

An application is an :class:`App`: a table from ``(method, path)`` to a
handler function that takes a :class:`Request` and returns a
:class:`Response`.  A response body is either bytes (sent with
``Content-Length``) or an iterable of bytes chunks, streamed as they are
produced and only as fast as the peer reads them (the server stops pulling
chunks while the transport's write buffer is above its high-water mark).

A response whose body is bytes can be :meth:`Response.prepare`-d: its head
is then encoded once and reused for every request it answers, which is how
the default application's ``Hello, World!`` costs almost nothing per
request.

:func:`default_app` is what ``reactor serve http`` serves: ``/`` says hello,
``/connections`` is the reactor's live connection table, the page of
:mod:`protocols.status`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypeAlias, TypeVar
from urllib.parse import parse_qs

from protocols.http.writer import PreparedHead, prepare_head

if TYPE_CHECKING:
    from protocols.http.events import Headers, RequestHead
    from reactor.protocol import PeerKey, Transport

__all__ = ["App", "Body", "Handler", "Request", "Response", "default_app"]

Body: TypeAlias = bytes | Iterable[bytes]
"""Bytes, or an iterable (a generator, say) of bytes chunks to stream."""


class Request:
    """One request as the application sees it; the body is read whole."""

    __slots__ = ("_path", "_query", "body", "head", "transport")

    def __init__(
        self, head: RequestHead, body: bytes = b"", transport: Transport | None = None
    ) -> None:
        self.head = head
        self.body = body
        self.transport = transport
        self._path: str | None = None
        self._query = ""

    @property
    def method(self) -> str:
        """The request method, as sent (methods are case-sensitive)."""
        return self.head.method

    @property
    def target(self) -> str:
        """The request target, as sent."""
        return self.head.target

    @property
    def version(self) -> str:
        """``"1.0"`` or ``"1.1"``."""
        return self.head.version

    @property
    def headers(self) -> Headers:
        """The header fields (case-insensitive names, repeats in order)."""
        return self.head.headers

    def _split(self) -> str:
        target = self.head.target
        if target.startswith(("http://", "https://")):  # absolute form
            slash = target.find("/", target.find("//") + 2)
            target = "/" if slash < 0 else target[slash:]
        path, _, self._query = target.partition("?")
        self._path = path
        return path

    @property
    def path(self) -> str:
        """The path of the target, still percent-encoded."""
        return self._path if self._path is not None else self._split()

    @property
    def query(self) -> str:
        """The query string of the target (without ``?``), still encoded."""
        if self._path is None:
            self._split()
        return self._query

    @property
    def args(self) -> dict[str, list[str]]:
        """The query string decoded into lists of values."""
        return parse_qs(self.query, keep_blank_values=True)

    @property
    def peer(self) -> PeerKey | None:
        """The peer key of the connection, if the request came from one."""
        return None if self.transport is None else self.transport.peer

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.target}>"


class Response:
    """Status, header fields and body.

    The server adds ``Date``, ``Server`` (unless given), and the framing
    fields: ``Content-Length`` for bytes, ``Transfer-Encoding: chunked`` for
    a streamed body sent to an HTTP/1.1 peer unless a ``Content-Length`` is
    given.  ``Connection: close`` in ``headers`` ends the connection after
    the response.
    """

    __slots__ = ("_prepared", "body", "headers", "status")

    def __init__(
        self,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        body: Body | str = b"",
    ) -> None:
        self.status = status
        if headers is None:
            self.headers: list[tuple[str, str]] = []
        elif isinstance(headers, Mapping):
            self.headers = list(headers.items())
        else:
            self.headers = list(headers)
        self.body: Body = body.encode() if isinstance(body, str) else body
        self._prepared: PreparedHead | None = None

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain") -> Response:
        """A UTF-8 text response."""
        return cls(status, [("Content-Type", f"{content_type}; charset=utf-8")], text.encode())

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        """A UTF-8 HTML response."""
        return cls.text(text, status, "text/html")

    @classmethod
    def json(cls, value: object, status: int = 200) -> Response:
        """A JSON response."""
        return cls(status, [("Content-Type", "application/json")], json.dumps(value).encode())

    @property
    def streamed(self) -> bool:
        """True when the body is an iterable of chunks rather than bytes."""
        return not isinstance(self.body, (bytes, bytearray, memoryview))

    @property
    def content_length(self) -> int | None:
        """The length given in the header fields, if any (used for streamed bodies)."""
        for name, value in self.headers:
            if name.lower() == "content-length":
                return int(value)
        return None

    def prepare(self) -> Response:
        """Encode the head once, for a response reused as is (returns ``self``).

        A prepared response must not be changed afterwards; its body must be
        bytes.
        """
        if not isinstance(self.body, bytes):
            raise TypeError("only a response with a bytes body can be prepared")
        self._prepared = prepare_head(self.status, self.headers, len(self.body))
        return self

    @property
    def prepared(self) -> PreparedHead | None:
        """The head encoded by :meth:`prepare`, if it was called."""
        return self._prepared

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


Handler = Callable[[Request], Response]
"""A function that answers one request."""

H = TypeVar("H", bound=Handler)

_NOT_FOUND = Response.text("Not Found\n", 404).prepare()


class App:
    """Routes ``(method, path)`` to handlers; unknown paths get 404, unknown
    methods on known paths 405 with ``Allow``.  ``HEAD`` falls back to the
    ``GET`` handler (the server drops the body).

    ``fallback`` answers every request no route matches, instead of 404.
    """

    def __init__(self, fallback: Handler | None = None) -> None:
        self._routes: dict[tuple[str, str], Handler] = {}
        # The routes whose path is a plain origin-form target (a "/" and no
        # "?"): a request whose target equals one has that path, so one
        # dict lookup on the raw target finds its handler.
        self._plain: dict[tuple[str, str], Handler] = {}
        self._methods: dict[str, list[str]] = {}
        self._fallback = fallback

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Route ``method`` requests for ``path`` to ``handler``."""
        self._routes[method, path] = handler
        if path.startswith("/") and "?" not in path:
            self._plain[method, path] = handler
        methods = self._methods.setdefault(path, [])
        if method not in methods:
            methods.append(method)

    def route(self, method: str, path: str) -> Callable[[H], H]:
        """Decorator form of :meth:`add`."""

        def register(handler: H) -> H:
            self.add(method, path, handler)
            return handler

        return register

    def resolve(self, method: str, path: str) -> Handler | None:
        """The handler for a request, or ``None`` if no route matches."""
        handler = self._routes.get((method, path))
        if handler is None:
            if method == "HEAD":
                handler = self._routes.get(("GET", path))
            if handler is None:
                handler = self._fallback
        return handler

    def accepts(self, method: str, path: str) -> bool:
        """Whether a handler will read the body (decides ``100 Continue``)."""
        return self.resolve(method, path) is not None

    def __call__(self, request: Request) -> Response:
        """Answer ``request`` with its route's handler, or 404/405."""
        head = request.head
        handler = self._plain.get((head.method, head.target))
        if handler is not None:
            return handler(request)
        path = request.path
        handler = self.resolve(request.method, path)
        if handler is not None:
            return handler(request)
        methods = self._methods.get(path)
        if methods:
            allow = ", ".join([*methods, "HEAD"] if "GET" in methods else methods)
            return Response(
                405,
                [("Allow", allow), ("Content-Type", "text/plain; charset=utf-8")],
                b"Method Not Allowed\n",
            )
        return _NOT_FOUND


HELLO = Response.text("Hello, World!").prepare()


def hello(request: Request) -> Response:
    """``Hello, World!``, from a head encoded once."""
    return HELLO


def default_app() -> App:
    """``/``: hello; ``/connections``: the status page's connection table."""
    # The status plugin is itself an application of this package: importing
    # it while the package loads would be circular.
    from protocols.status import table_page  # noqa: PLC0415  (status sits above http)

    app = App()
    app.add("GET", "/", hello)
    app.add("GET", "/connections", table_page())
    return app
