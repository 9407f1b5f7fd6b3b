"""The in-memory transport and connected pair of the test kit."""

from __future__ import annotations

import logging

import pytest

from protocols.echo import EchoHandler
from reactor.framing import FrameTooLarge, LengthPrefixFramer, LineFramer
from reactor.loop import Reactor
from reactor.protocol import BaseHandler, EventLoop, Transport
from reactor.testing import FakeClock, MemoryTransport, connection_pair, run_until
from reactor.transport import State


class Recorder(BaseHandler):
    """Records every callback in order."""

    def __init__(self, keep_open: bool = False) -> None:
        self.events: list[object] = []
        self.data = bytearray()
        self.keep_open = keep_open

    def connection_made(self, transport: Transport) -> None:
        super().connection_made(transport)
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data)
        self.data += data

    def eof_received(self) -> bool:
        self.events.append("eof")
        return self.keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.events.append(("lost", exc))

    def pause_writing(self) -> None:
        self.events.append("pause")

    def resume_writing(self) -> None:
        self.events.append("resume")

    def passive(self) -> None:
        self.events.append("passive")

    def lost(self) -> list[object]:
        return [e for e in self.events if isinstance(e, tuple)]


def test_it_is_a_transport_and_an_echo_works_without_sockets() -> None:
    transport: Transport = MemoryTransport(EchoHandler())
    assert isinstance(transport, MemoryTransport)
    transport.feed(b"hello ")
    transport.feed(b"world")
    assert transport.written == b"hello world"
    assert transport.drain() == b"hello world"
    assert transport.drain() == b""
    assert (transport.bytes_in, transport.bytes_out) == (11, 11)
    assert transport.get_extra_info("peername") == transport.peer
    assert transport.get_extra_info("sockname") == ("127.0.0.1", 5678)
    assert transport.get_extra_info("socket") is None
    assert transport.can_write_eof()


def test_loop_is_what_was_given() -> None:
    with pytest.raises(RuntimeError, match="no loop"):
        _ = MemoryTransport(BaseHandler()).loop
    clock = FakeClock()
    with Reactor(clock=clock) as reactor:
        loop: EventLoop = reactor
        transport = MemoryTransport(BaseHandler(), reactor)
        assert transport.loop is loop
        assert transport.created == clock.now


def test_water_marks_pause_and_resume_as_the_test_drains() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler, high_water=100, low_water=20)
    assert transport.get_write_buffer_limits() == (20, 100)
    transport.write(b"x" * 100)
    assert handler.events == ["made"]  # at the mark, not above it
    transport.write(b"x")
    assert transport.writing_paused
    assert handler.events == ["made", "pause"]
    transport.write(b"y" * 50)  # no second pause
    assert transport.drain(100) == b"x" * 100
    assert transport.get_write_buffer_size() == 51
    assert handler.events == ["made", "pause"]
    assert transport.drain(31) == b"x" + b"y" * 30
    assert handler.events == ["made", "pause", "resume"]
    assert transport.get_write_buffer_size() == 20
    transport.set_write_buffer_limits(high=10)  # lowering the mark pauses at once
    assert handler.events == ["made", "pause", "resume", "pause"]
    assert transport.writing_paused
    with pytest.raises(ValueError, match="low"):
        transport.set_write_buffer_limits(high=1, low=2)


def test_close_flushes_first_and_connection_lost_comes_once() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.write(b"bye")
    transport.close()
    assert transport.state is State.CLOSING
    assert transport.is_closing() and not transport.is_reading()
    transport.write(b"dropped")
    transport.feed(b"ignored")
    assert handler.lost() == []
    assert transport.drain() == b"bye"
    assert transport.closed
    transport.close()
    transport.abort()
    transport.feed_error()
    assert handler.lost() == [("lost", None)]
    assert handler.events == ["made", ("lost", None)]


def test_abort_drops_the_buffer() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.write(b"never sent")
    transport.abort()
    assert transport.closed
    assert transport.written == b""
    assert handler.lost() == [("lost", None)]


def test_feed_error_loses_the_connection_with_it() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.feed_error()
    assert isinstance(transport.exception, ConnectionResetError)
    assert handler.lost() == [("lost", transport.exception)]


def test_write_eof_shuts_once_drained_and_forbids_writes() -> None:
    handler = Recorder(keep_open=True)
    transport = MemoryTransport(handler)
    transport.write(b"last")
    transport.write_eof()
    assert transport.written == b"last"  # not shut yet: the bytes before it wait
    with pytest.raises(RuntimeError, match="after write_eof"):
        transport.write(b"more")
    assert transport.drain() == b"last"
    assert transport.eof_sent
    assert not transport.closed
    transport.feed(b"still reading")
    transport.feed_eof()  # both directions done: closes
    assert handler.events == ["made", b"still reading", "eof", ("lost", None)]


def test_peer_eof_closes_unless_the_handler_keeps_it_open() -> None:
    closing = Recorder()
    transport = MemoryTransport(closing)
    transport.feed_eof()
    transport.feed_eof()
    assert closing.events == ["made", "eof", ("lost", None)]
    assert transport.eof_received
    with pytest.raises(RuntimeError, match="after feed_eof"):
        transport.feed(b"x")
    keeping = Recorder(keep_open=True)
    transport = MemoryTransport(keeping)
    transport.feed_eof()
    transport.write(b"answer")
    assert not transport.closed
    assert transport.drain() == b"answer"


def test_paused_reading_holds_fed_bytes_and_eof_in_order() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.pause_reading()
    assert not transport.is_reading()
    transport.feed(b"one")
    transport.feed(b"two")
    transport.feed_eof()
    assert handler.events == ["made"]
    transport.resume_reading()
    assert handler.events == ["made", b"one", b"two", "eof", ("lost", None)]


def test_resume_from_a_callback_delivers_after_it_returns() -> None:
    class PauseOnFirst(Recorder):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            assert self.transport is not None
            if data == b"first":
                self.transport.pause_reading()
                self.transport.resume_reading()
                self.events.append("returning")

    handler = PauseOnFirst()
    transport = MemoryTransport(handler)
    transport.pause_reading()
    transport.feed(b"first")
    transport.feed(b"second")
    transport.resume_reading()
    assert handler.events == ["made", b"first", "returning", b"second"]


def test_connection_lost_waits_for_the_handler_callback_to_return() -> None:
    class CloseAndContinue(Recorder):
        def data_received(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.close()
            self.events.append("after close")

    handler = CloseAndContinue()
    MemoryTransport(handler).feed(b"x")
    assert handler.events == ["made", "after close", ("lost", None)]


def test_with_a_loop_deferred_work_waits_for_the_next_turn(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    handler = Recorder()
    transport = MemoryTransport(handler, fake_reactor)
    transport.feed(b"now")  # delivered at once: the test is the peer
    assert handler.events == ["made", b"now"]
    transport.close()
    assert not transport.closed
    clock.advance(0)
    assert handler.events == ["made", b"now", ("lost", None)]


def test_framer_delivers_whole_messages_and_active_modes_count_them() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.set_framer(LineFramer())
    transport.feed(b"a\nb")
    transport.feed(b"\nc\nd\n")
    assert handler.events[1:] == [b"a\n", b"b\n", b"c\n", b"d\n"]
    handler.events.clear()
    transport.set_active("once")
    transport.feed(b"e\nf\n")
    assert handler.events == [b"e\n"]
    assert not transport.is_reading()
    transport.set_active(2)  # f is delivered, then g, then passive
    transport.feed(b"g\nh\n")
    assert handler.events == [b"e\n", b"f\n", b"g\n", "passive"]
    transport.set_active(True)
    assert handler.events[-2:] == ["passive", b"h\n"]
    transport.set_framer(None)
    transport.feed(b"raw")
    assert handler.events[-2:] == [b"h\n", b"raw"]
    with pytest.raises(ValueError, match="bad active mode"):
        transport.set_active("twice")  # type: ignore[arg-type]  # the error under test


def test_set_active_false_pauses_reading() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.set_active(False)
    transport.feed(b"held")
    assert handler.events == ["made"]
    transport.set_active(True)
    assert handler.events == ["made", b"held"]


def test_a_bad_frame_aborts_after_the_frames_before_it(caplog: pytest.LogCaptureFixture) -> None:
    handler = Recorder()
    transport = MemoryTransport(handler, peer=("192.0.2.1", 4242))
    transport.set_framer(LengthPrefixFramer(1, max_size=4))
    with caplog.at_level(logging.INFO, logger="reactor.testing"):
        transport.feed(b"\x01a\x02bc\x09")
    assert handler.events[1:3] == [b"a", b"bc"]
    assert isinstance(transport.exception, FrameTooLarge)
    assert transport.failures == [transport.exception]
    assert handler.lost() == [("lost", transport.exception)]
    assert "closing ('192.0.2.1', 4242)" in caplog.text


def test_a_handler_bug_is_contained_to_its_connection(caplog: pytest.LogCaptureFixture) -> None:
    class Buggy(Recorder):
        def data_received(self, data: bytes) -> None:
            raise KeyError(data)

    handler = Buggy()
    transport = MemoryTransport(handler)
    with caplog.at_level(logging.ERROR, logger="reactor.testing"):
        transport.feed(b"boom")
    assert isinstance(transport.exception, KeyError)
    assert handler.lost() == [("lost", transport.exception)]
    assert "handler failed for" in caplog.text


def test_set_protocol_hands_over_later_data() -> None:
    first, second = Recorder(), Recorder()
    transport = MemoryTransport(first)
    transport.feed(b"1")
    transport.set_protocol(second)
    assert transport.get_protocol() is second
    transport.feed(b"2")
    assert first.data == b"1"
    assert second.data == b"2"


# -- pairs -----------------------------------------------------------------------------


def test_pair_delivers_on_the_next_turn_and_propagates_eof(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    client = Recorder(keep_open=True)
    server_end, client_end = connection_pair(fake_reactor, EchoHandler(), client)
    assert server_end.peer == client_end.local
    assert client_end.peer == server_end.local == ("127.0.0.1", 5678)
    client_end.write(b"ping")
    assert client.data == b""
    fake_reactor.run_once(0)
    fake_reactor.run_once(0)
    assert client.data == b"ping"
    client_end.write_eof()
    clock.advance(0)
    assert client.events == ["made", b"ping", "eof", ("lost", None)]
    assert server_end.closed and client_end.closed
    with pytest.raises(RuntimeError, match="other end"):
        client_end.feed(b"x")


def test_pair_a_paused_reader_pushes_back_on_the_writer(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    reader, writer = Recorder(), Recorder()
    reader_end, writer_end = connection_pair(
        fake_reactor, reader, writer, high_water=100, low_water=10, read_size=40
    )
    reader_end.pause_reading()
    writer_end.write(b"z" * 150)
    clock.advance(0)
    assert writer.events == ["made", "pause"]
    assert reader.data == b""
    reader_end.resume_reading()
    clock.advance(0)
    assert reader.data == b"z" * 150
    assert [e for e in reader.events if isinstance(e, bytes)] == [b"z" * 40] * 3 + [b"z" * 30]
    assert writer.events == ["made", "pause", "resume"]
    assert (writer_end.bytes_out, reader_end.bytes_in) == (150, 150)


def test_pair_close_flushes_then_the_other_end_reads_eof(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    server, client = Recorder(), Recorder()
    server_end, _ = connection_pair(fake_reactor, server, client)
    server_end.write(b"goodbye")
    server_end.close()
    clock.advance(0)
    assert client.events == ["made", b"goodbye", "eof", ("lost", None)]
    assert server.lost() == [("lost", None)]


def test_pair_writing_to_a_closed_end_resets_the_writer(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    server, client = Recorder(), Recorder(keep_open=True)
    server_end, client_end = connection_pair(fake_reactor, server, client)
    server_end.abort()
    clock.advance(0)
    assert client.events == ["made", "eof"]
    client_end.write(b"too late")
    clock.advance(0)
    assert isinstance(client_end.exception, ConnectionResetError)
    assert client.lost() == [("lost", client_end.exception)]


def test_pair_unread_bytes_of_a_closing_end_are_dropped_quietly(
    fake_reactor: Reactor, clock: FakeClock
) -> None:
    server, client = Recorder(), Recorder()
    server_end, client_end = connection_pair(fake_reactor, server, client)
    server_end.close()  # stops reading at once
    client_end.write(b"unread")
    clock.advance(0)
    assert server.data == b""
    assert client.events == ["made", "eof", ("lost", None)]  # FIN, not a reset


def test_pair_with_autojump_waits_for_a_delayed_answer(clock: FakeClock) -> None:
    class Slow(BaseHandler):
        def data_received(self, data: bytes) -> None:
            assert self.transport is not None
            self.transport.loop.call_later(60, self.transport.write, data.upper())

    clock.autojump = True
    reactor = clock.bind(Reactor(clock=clock))
    try:
        client = Recorder()
        _, client_end = connection_pair(reactor, Slow(), client)
        client_end.write(b"later")
        run_until(reactor, lambda: client.data, timeout=5)
        assert client.data == b"LATER"
        assert clock.now == 1060.0
    finally:
        reactor.close()


def test_default_drain_closes_an_idle_connection_at_once() -> None:
    handler = Recorder(keep_open=True)
    transport = MemoryTransport(handler)
    transport.close_when_done()
    assert transport.closed
    assert handler.lost() == [("lost", None)]


def test_default_drain_waits_for_the_peers_eof_when_input_waits() -> None:
    handler = Recorder(keep_open=True)
    transport = MemoryTransport(handler)
    transport.pause_reading()
    transport.feed(b"unread")
    transport.close_when_done()
    assert not transport.closed
    transport.resume_reading()
    transport.feed_eof()
    # eof_received() asked to stay open, but a drain closes at the EOF anyway
    assert handler.events[-2:] == ["eof", ("lost", None)]
    assert bytes(handler.data) == b"unread"


def test_end_input_turns_the_end_of_what_was_fed_into_eof() -> None:
    handler = Recorder()
    transport = MemoryTransport(handler)
    transport.pause_reading()
    transport.feed(b"last request")
    transport.end_input()
    transport.resume_reading()
    assert handler.events[1:] == [b"last request", "eof", ("lost", None)]


def test_end_input_on_a_pair_reads_what_the_other_end_sent_first() -> None:
    reactor = Reactor(clock=FakeClock())
    server, client = Recorder(), Recorder(keep_open=True)
    server_end, client_end = connection_pair(reactor, server, client)
    client_end.write(b"before the drain")
    server_end.end_input()
    run_until(reactor, lambda: server_end.closed, timeout=5)
    assert bytes(server.data) == b"before the drain"
    assert "eof" in server.events
    reactor.close()


def test_timeouts_are_set_through_the_transport_interface_and_recorded() -> None:
    transport = MemoryTransport(EchoHandler())
    as_transport: Transport = transport  # the setters are part of the interface
    as_transport.set_idle_timeout(5)
    as_transport.set_write_timeout(2.5)
    assert (transport.idle_timeout, transport.write_timeout) == (5.0, 2.5)
    as_transport.set_idle_timeout(0)  # 0 and None: off, as on a connection
    as_transport.set_write_timeout(None)
    assert (transport.idle_timeout, transport.write_timeout) == (None, None)
    with pytest.raises(ValueError, match="idle_timeout"):
        as_transport.set_idle_timeout(-1)
    with pytest.raises(ValueError, match="write_timeout"):
        as_transport.set_write_timeout(float("nan"))


def test_a_failing_hook_aborts_its_own_connection_not_the_writers() -> None:
    class Slow(Recorder):
        def pause_writing(self) -> None:
            raise KeyError("pause")

    slow = MemoryTransport(Slow(), high_water=2)

    class Relay(Recorder):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            slow.write(data)  # crosses the slow end's high-water mark

    relay = MemoryTransport(Relay())
    relay.feed(b"12345")
    assert relay.failures == [] and not relay.is_closing()
    assert isinstance(slow.exception, KeyError)
    assert slow.failures == [slow.exception]
    assert slow.closed


def test_a_failing_passive_hook_aborts_the_connection() -> None:
    class Sulky(Recorder):
        def passive(self) -> None:
            raise KeyError("passive")

    transport = MemoryTransport(Sulky())
    transport.set_active(1)
    transport.feed(b"one")
    assert isinstance(transport.exception, KeyError)
    assert transport.failures == [transport.exception]
    assert transport.closed
