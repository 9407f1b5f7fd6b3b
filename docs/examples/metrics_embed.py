"""Reading the reactor's figures, and counting an application's own, from Python.

:func:`reactor.metrics.collect` gathers what ``/metrics`` serves: the
reactor's own figures (per listener), the metrics its plugins registered,
and the process's registry, where an embedding application adds its own.
:func:`reactor.metrics.value` reads one figure back (summing the samples
that match the labels given); :func:`reactor.metrics.render` is the text a
Prometheus server scrapes.
"""

from __future__ import annotations

from reactor import BaseHandler, Reactor, Transport, metrics
from reactor.testing import run_until

# The application's own counter, in the process's registry: made once, at import.
JOBS = metrics.REGISTRY.counter("myapp_jobs_total", "Jobs the application ran", ["kind"])


class Echo(BaseHandler):
    transport: Transport

    def data_received(self, data: bytes) -> None:
        JOBS.labels("echo").inc()
        self.transport.write(data)


class Client(BaseHandler):
    def __init__(self) -> None:
        self.transport = None
        self.reply = b""

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        transport.write(b"ping")

    def data_received(self, data: bytes) -> None:
        self.reply += data


def main() -> None:
    reactor = Reactor()
    listener = reactor.listen(lambda peer: Echo(), "127.0.0.1", 0)
    client = Client()
    reactor.connect(lambda peer: client, "127.0.0.1", listener.port)
    run_until(reactor, lambda: client.reply == b"ping", timeout=10)

    figures = metrics.collect(reactor)
    here = f"127.0.0.1:{listener.port}"
    print(
        "accepted:", metrics.value(figures, "selreactor_connections_accepted_total", listener=here)
    )
    print(
        "bytes received:", metrics.value(figures, "selreactor_received_bytes_total", listener=here)
    )
    print(
        "outbound open:",
        metrics.value(figures, "selreactor_connections_active", listener="outbound"),
    )
    print("echo jobs:", metrics.value(figures, "myapp_jobs_total", kind="echo"))
    text = metrics.render(figures)
    print([line for line in text.splitlines() if line.startswith("myapp_jobs_total")])
    reactor.close()


if __name__ == "__main__":
    main()
