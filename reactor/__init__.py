"""selreactor: a single-threaded, selectors-based TCP reactor with protocol plugins.

The names most programs need are here; each lives in the module named in
its documentation.
"""

from reactor.connector import Connector, connect
from reactor.embedding import ReactorThread
from reactor.listener import Listener, Overload
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, Handler, PeerKey, ProtocolError, Transport
from reactor.transport import Connection

__all__ = [
    "BaseHandler",
    "Connection",
    "Connector",
    "Handler",
    "Listener",
    "Overload",
    "PeerKey",
    "ProtocolError",
    "Reactor",
    "ReactorThread",
    "Transport",
    "connect",
]

__version__ = "0.1.0"
