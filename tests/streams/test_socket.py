"""gen_tcp's passive-mode semantics, one test each, on real loopback sockets."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from reactor.framing import FrameTooLarge
from reactor.streams import (
    Closed,
    NotOwner,
    NotPassive,
    Socket,
    Tcp,
    TcpClosed,
    TcpPassive,
    Timeout,
    connect,
    listen,
)
from tests.streams.support import pair, run, until


def recv_elsewhere(sock: Socket, length: int, timeout: float | None = None) -> asyncio.Task[bytes]:
    """``sock.recv(length, timeout)`` in a task owning ``sock``; it hands ``sock`` back."""
    parent = asyncio.current_task()
    assert parent is not None

    async def receive() -> bytes:
        try:
            return await sock.recv(length, timeout)
        finally:
            sock.controlling_process(parent)

    task = asyncio.create_task(receive())
    sock.controlling_process(task)
    return task


def test_recv_timeout_then_success_on_the_same_socket() -> None:
    async def main() -> None:
        _, server, client = await pair()
        with pytest.raises(Timeout):
            await server.recv(0, timeout=0.05)
        await client.send(b"late")
        assert await server.recv(0, timeout=5) == b"late"
        with pytest.raises(Timeout):
            await server.recv(4, timeout=0)

    run(main())


def test_exact_length_recv_across_many_small_segments() -> None:
    async def main() -> None:
        _, server, client = await pair()
        receiving = recv_elsewhere(server, 100, 10)
        for i in range(100):
            await client.send(bytes([i]))
            # one byte per read: the server's connection sees each arrive
            await until(lambda: server.transport.bytes_in > i)  # noqa: B023  awaited here
            assert receiving.done() == (i == 99)
        assert await receiving == bytes(range(100))
        await client.send(b"abcdef")
        assert await server.recv(2) == b"ab"
        assert await server.recv(4) == b"cdef"

    run(main())


def test_closed_comes_after_all_buffered_data() -> None:
    async def main() -> None:
        _, server, client = await pair()
        await client.send(b"0123456789")
        client.close()
        await until(server.transport.is_closing)
        assert await server.recv(4) == b"0123"
        with pytest.raises(Closed):
            await server.recv(10)  # more than is left: the peer is gone
        assert await server.recv(0) == b"456789"
        with pytest.raises(Closed):
            await server.recv(0)
        with pytest.raises(Closed):
            await server.send(b"x")

    run(main())


def test_only_the_owner_may_recv() -> None:
    async def main() -> None:
        _, server, client = await pair()
        await client.send(b"mine")

        async def thief() -> bytes:
            return await server.recv(0)

        with pytest.raises(NotOwner):
            await asyncio.create_task(thief())
        with pytest.raises(NotOwner):
            await asyncio.create_task(server.messages.get())

        async def usurper() -> None:
            server.controlling_process(asyncio.current_task())  # type: ignore[arg-type]

        with pytest.raises(NotOwner):
            await asyncio.create_task(usurper())
        assert await server.recv(0) == b"mine"  # nothing was taken

    run(main())


def test_hand_off_keeps_buffered_data_and_queued_messages_in_order() -> None:
    """OTP's ERL-90: messages arriving while the socket changes hands are not
    lost or reordered.  The old owner takes some, hands over mid-stream while
    the peer keeps sending, and the new owner gets the rest in order."""

    async def main() -> None:
        _, server, client = await pair(packet=4)
        count = 2000
        server.setopts(active=True)
        got: list[bytes] = []
        handed = asyncio.Event()

        async def new_owner() -> None:
            await handed.wait()
            async for msg in server:
                if isinstance(msg, TcpClosed):
                    return
                assert isinstance(msg, Tcp)
                got.append(msg.data)

        heir = asyncio.create_task(new_owner())

        async def produce() -> None:
            for n in range(count):
                await client.send(b"%d" % n)
                if n % 50 == 0:
                    await asyncio.sleep(0)
            client.close()

        producer = asyncio.create_task(produce())
        while len(got) < 300:
            msg = await server.messages.get()
            assert isinstance(msg, Tcp)
            got.append(msg.data)
        await until(lambda: len(server.messages) > 5)  # some queued at the hand-over
        server.controlling_process(heir)
        handed.set()
        with pytest.raises(NotOwner):
            await server.messages.get()
        await producer
        await heir
        assert got == [b"%d" % n for n in range(count)]

    run(main())


def test_hand_off_of_a_passive_socket_keeps_its_buffer() -> None:
    async def main() -> None:
        _, server, client = await pair()
        await client.send(b"before")
        await until(lambda: server.transport.bytes_in == 6)

        async def heir() -> bytes:
            await asyncio.sleep(0)
            return await server.recv(6) + await server.recv(5)

        task = asyncio.create_task(heir())
        server.controlling_process(task)
        await client.send(b"after")
        assert await task == b"beforeafter"

    run(main())


def test_setopts_reframes_what_is_already_buffered() -> None:
    async def main() -> None:
        _, server, client = await pair()
        # one line, then two {packet, 2} messages, then raw bytes, in one send
        await client.send(b"hello\n" + b"\x00\x03abc" + b"\x00\x02de" + b"raw")
        await until(lambda: server.transport.bytes_in == 6 + 5 + 4 + 3)
        server.setopts(packet="line")
        assert await server.recv(0) == b"hello\n"
        server.setopts(packet=2)
        assert await server.recv(0) == b"abc"
        server.setopts(active="once")
        msg = await server.messages.get()
        assert isinstance(msg, Tcp)
        assert msg.data == b"de"
        server.setopts(packet=0)
        assert await server.recv(0) == b"raw"
        # a partial message held for one framing is whole for the next
        await client.send(b"\x00\x05ab")
        server.setopts(packet=2)
        with pytest.raises(Timeout):
            await server.recv(0, timeout=0.05)
        server.setopts(packet=0)
        assert await server.recv(4) == b"\x00\x05ab"

    run(main())


def test_packet_framing_is_gen_tcps_on_both_sides() -> None:
    async def main() -> None:
        for packet in (1, 2, 4, "line"):
            _, server, client = await pair(packet=packet)
            await client.send(b"one\n")
            await client.send(b"two\n")
            assert await server.recv(0) == b"one\n"
            assert await server.recv(0) == b"two\n"

    run(main())


def test_active_n_sends_the_passive_notice_and_recv_refuses_active_sockets() -> None:
    async def main() -> None:
        _, server, client = await pair(packet=2)
        server.setopts(active=2)
        with pytest.raises(NotPassive):
            await server.recv(0)
        for word in (b"a", b"b", b"c"):
            await client.send(word)
        kinds = [await server.messages.get() for _ in range(3)]
        assert [type(m) for m in kinds] == [Tcp, Tcp, TcpPassive]
        assert await server.recv(0) == b"c"  # passive now
        assert server.getopts()["active"] is False

    run(main())


def test_active_closed_notice_follows_the_data() -> None:
    async def main() -> None:
        _, server, client = await pair()
        await client.send(b"bye")
        client.close()
        await until(server.transport.is_closing)
        server.setopts(active=True)
        messages = [msg async for msg in server]
        assert [type(m) for m in messages] == [Tcp, TcpClosed]

    run(main())


def test_a_cancelled_recv_consumes_nothing() -> None:
    async def main() -> None:
        _, server, client = await pair()
        waiting = recv_elsewhere(server, 10)
        await client.send(b"12345")
        await until(lambda: server.transport.bytes_in == 5)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        if sys.version_info >= (3, 11):  # asyncio.timeout: the deadline in the same task
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await server.recv(10)
        assert await server.recv(0) == b"12345"
        assert not server.transport.is_closing()  # cancellation closed nothing

    run(main())


def test_accept_serves_waiting_tasks_in_order_and_closed_listener_raises() -> None:
    async def main() -> None:
        lsock = listen(0)
        order: list[int] = []

        async def acceptor(i: int) -> Socket:
            sock = await lsock.accept()
            order.append(i)
            return sock

        tasks = [asyncio.create_task(acceptor(i)) for i in range(4)]
        await asyncio.sleep(0)
        clients = [await connect("127.0.0.1", lsock.port) for _ in range(3)]
        await until(lambda: len(order) == 3)
        assert order == [0, 1, 2]
        accepted = [await t for t in tasks[:3]]
        assert all(s.owner is t for s, t in zip(accepted, tasks, strict=False))
        lsock.close()
        with pytest.raises(Closed):
            await tasks[3]
        with pytest.raises(Closed):
            await lsock.accept()
        for c in clients:
            c.close()

    run(main())


def test_accept_timeout_and_peers_wait_in_the_backlog() -> None:
    async def main() -> None:
        lsock = listen(0)
        with pytest.raises(Timeout):
            await lsock.accept(timeout=0.05)
        raw = socket.create_connection(("127.0.0.1", lsock.port))
        raw.setblocking(False)
        await asyncio.sleep(0.05)
        sock = await lsock.accept(timeout=5)
        assert sock.peername == raw.getsockname()
        assert lsock.listener.connections[sock.peername] is sock.transport
        raw.close()

    run(main())


def test_send_waits_while_the_peer_does_not_read() -> None:
    async def main() -> None:
        _, server, client = await pair()
        server.transport.set_write_buffer_limits(64 * 1024)
        sending = asyncio.ensure_future(_flood(server))
        await until(lambda: server.transport.writing_paused)
        assert not sending.done()
        got = 0
        while got < 4 * 1024 * 1024:
            got += len(await client.recv(0))
        await sending

    run(main())


async def _flood(sock: Socket) -> None:
    chunk = b"x" * 65536
    for _ in range(64):
        await sock.send(chunk)


def test_reading_pauses_past_the_read_buffer() -> None:
    async def main() -> None:
        _, server, client = await pair(read_buffer=64 * 1024)
        chunk = b"y" * 65536
        for _ in range(4):
            await client.send(chunk)
        await until(lambda: not server.transport.is_reading())
        held = server.transport.bytes_in
        assert held < 4 * 65536
        total = 0
        while total < 4 * 65536:
            total += len(await server.recv(0))
        assert total == 4 * 65536

    run(main())


def test_an_over_long_frame_is_an_error_for_that_socket_only() -> None:
    async def main() -> None:
        _, server, client = await pair(packet=1, max_size=4)
        await client.send(b"ok")
        client.setopts(packet=0)
        await client.send(b"\x09toolong!!")
        assert await server.recv(0) == b"ok"
        with pytest.raises(FrameTooLarge):
            await server.recv(0)
        with pytest.raises(Closed):
            await server.recv(0)

    run(main())


def test_connect_refused_and_listen_outside_reactor_aio() -> None:
    spare = socket.socket()
    spare.bind(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError):
            await connect("127.0.0.1", port, timeout=5)

    run(main())

    async def elsewhere() -> None:
        listen(0)

    with pytest.raises(RuntimeError, match=r"reactor\.aio"):
        asyncio.run(elsewhere())


def test_tls_under_the_socket_on_both_sides() -> None:
    trustme = pytest.importorskip("trustme")  # in the test extra
    import ssl

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def main() -> None:
        lsock, server, client = await pair(
            packet=2, server_ssl=server_ctx, client_ssl=client_ctx, client_host="localhost"
        )
        assert server.transport.get_extra_info("ssl_version") == "TLSv1.3"
        await client.send(b"Some Data")
        assert await server.recv(0, timeout=5) == b"Some Data"
        await server.send(b"x" * 60000)  # past one TLS record, within {packet, 2}
        assert await client.recv(0, timeout=5) == b"x" * 60000
        client.close()
        with pytest.raises(Closed):
            await server.recv(0, timeout=5)
        server.close()
        lsock.close()

    run(main())
