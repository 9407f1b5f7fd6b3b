"""FramedHandler and the packet and chat plugins, on a fake transport (no sockets)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import pytest

from protocols.chat import (
    Action,
    ChatHandler,
    ChatPlugin,
    ChatRoom,
    format_age,
)
from protocols.packet import PacketEcho, PacketPlugin
from reactor.framing import (
    FramedHandler,
    Framer,
    FrameTooLarge,
    LengthPrefixFramer,
    LineFramer,
    make_framer,
)
from reactor.protocol import format_peer
from reactor.testing import FakeClock, MemoryTransport

if TYPE_CHECKING:
    from reactor.protocol import BaseHandler, PeerKey


class FakeTransport:
    """Records writes; frames like the real transport when given a framer.

    ``framing`` says whether it offers ``set_framer``: without it a
    FramedHandler decodes each read itself, a path a MemoryTransport (which
    always frames) cannot show.
    """

    def __init__(self, handler: BaseHandler, framing: bool = True) -> None:
        self.handler: BaseHandler = handler
        self.framer: Framer | None = None
        self.sent = bytearray()
        self.closing = False
        if not framing:
            self.set_framer = None  # type: ignore[assignment]

    def set_framer(self, framer: Framer | None) -> None:
        self.framer = framer

    def receive(self, data: bytes) -> None:
        """Bytes from the peer, delivered as the real transport would."""
        if self.framer is None:
            self.handler.data_received(data)
        else:
            for frame in self.framer.feed(data):
                self.handler.data_received(frame)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closing:
            self.sent += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def set_protocol(self, handler: BaseHandler) -> None:
        self.handler = handler


def connect(handler: BaseHandler, framing: bool = True) -> FakeTransport:
    transport = FakeTransport(handler, framing)
    handler.connection_made(transport)  # type: ignore[arg-type]
    return transport


class Recorder(FramedHandler):
    packet = 2

    def __init__(self, framer: Framer | None = None) -> None:
        super().__init__(framer)
        self.messages: list[bytes] = []

    def message_received(self, message: bytes) -> None:
        self.messages.append(message)


# -- FramedHandler -------------------------------------------------------------


@pytest.mark.parametrize("framing", [True, False])
def test_framed_handler_sees_whole_messages(framing: bool) -> None:
    handler = Recorder()
    transport = connect(handler, framing)
    assert (transport.framer is handler.framer) is framing
    wire = b"".join(handler.framer.encode(m) for m in [b"one", b"", b"three"])
    for i in range(len(wire)):
        transport.receive(wire[i : i + 1])
    assert handler.messages == [b"one", b"", b"three"]


def test_framer_from_class_attributes_or_constructor() -> None:
    assert isinstance(Recorder().framer, LengthPrefixFramer)
    assert Recorder().framer.encode(b"a") == b"\x00\x01a"
    line = LineFramer()
    assert Recorder(line).framer is line


def test_send_frames_the_message() -> None:
    handler = Recorder(make_framer(1))
    transport = connect(handler)
    handler.send(b"hey")
    assert bytes(transport.sent) == b"\x03hey"
    with pytest.raises(ValueError, match="256 bytes"):
        handler.send(b"x" * 256)


def test_send_without_a_connection_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        Recorder().send(b"x")


def test_decoding_here_delivers_frames_before_an_oversize_one() -> None:
    handler = Recorder(LengthPrefixFramer(1, max_size=4))
    transport = connect(handler, framing=False)
    with pytest.raises(FrameTooLarge):
        transport.receive(b"\x01a\x02bc\x09")
    assert handler.messages == [b"a", b"bc"]


def test_decoding_here_stops_after_the_handler_closes() -> None:
    class CloseOnFirst(Recorder):
        def message_received(self, message: bytes) -> None:
            super().message_received(message)
            assert self.transport is not None
            self.transport.close()

    handler = CloseOnFirst()
    transport = connect(handler, framing=False)
    transport.receive(b"\x00\x01a\x00\x01b")
    assert handler.messages == [b"a"]


@pytest.mark.parametrize("framing", [True, False])
def test_hand_off_keeps_the_partial_frame(framing: bool) -> None:
    first = Recorder()
    transport = connect(first, framing)
    transport.receive(b"\x00\x01a\x00\x03b")
    second = Recorder()
    first.hand_off(second)
    transport.receive(b"cd")
    assert first.messages == [b"a"]
    assert second.messages == [b"bcd"]
    assert id(second.transport) == id(transport)
    second.send(b"z")
    assert bytes(transport.sent) == b"\x00\x01z"


def test_hand_off_needs_a_connection() -> None:
    with pytest.raises(RuntimeError):
        Recorder().hand_off(Recorder())


# -- packet ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("packet", "message"), [(1, b"a"), (2, b""), (4, b"xyz"), ("line", b"hi\n")]
)
def test_packet_echo(packet: int | str, message: bytes) -> None:
    handler = PacketEcho(make_framer(packet))
    transport = connect(handler)
    wire = handler.framer.encode(message) * 3
    transport.receive(wire)
    assert bytes(transport.sent) == wire
    assert handler.messages == 3


def parse(plugin: PacketPlugin | ChatPlugin, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(exit_on_error=False)
    plugin.add_arguments(parser)
    return parser.parse_args(argv)


def test_packet_plugin_options() -> None:
    from protocols.packet import plugin

    options = parse(plugin, ["--packet", "2", "--max-size", "100"])
    assert options.packet == 2
    assert options.max_size == 100
    assert parse(plugin, []).packet == 4
    assert parse(plugin, ["--packet", "line"]).packet == "line"
    factory = plugin.make_factory(None, options)  # type: ignore[arg-type]
    handler = factory(("127.0.0.1", 1))
    assert isinstance(handler, PacketEcho)
    framer = handler.framer
    assert isinstance(framer, LengthPrefixFramer)
    assert (framer.header_size, framer.max_size) == (2, 100)
    assert factory(("127.0.0.1", 2)).framer is not framer  # type: ignore[union-attr]


@pytest.mark.parametrize("argv", [["--packet", "3"], ["--max-size", "0"], ["--max-size", "x"]])
def test_packet_plugin_refuses_bad_options(argv: list[str]) -> None:
    from protocols.packet import plugin

    with pytest.raises((argparse.ArgumentError, SystemExit)):
        parse(plugin, argv)


# -- chat: the room --------------------------------------------------------------


class Seat:
    def __init__(self) -> None:
        self.got = bytearray()

    def deliver(self, data: bytes) -> None:
        self.got += data

    def queued(self) -> int:
        return 7

    def take(self) -> bytes:
        data = bytes(self.got)
        self.got.clear()
        return data


A: PeerKey = ("127.0.0.1", 5001)
B: PeerKey = ("127.0.0.1", 5002)
C: PeerKey = ("::1", 5003)


def room_of_three() -> tuple[ChatRoom, FakeClock, Seat, Seat, Seat]:
    clock = FakeClock()
    room = ChatRoom(clock)
    a, b, c = Seat(), Seat(), Seat()
    room.join(A, a)
    clock.advance(5)
    room.join(B, b)
    room.join(C, c)
    for seat in (a, b, c):
        seat.take()
    return room, clock, a, b, c


def test_lines_go_to_every_other_member_with_the_peer_key() -> None:
    room, _, a, b, c = room_of_three()
    assert c.take() == b""
    assert room.line(A, b"hello\r\n") is Action.CONTINUE
    assert a.take() == b""
    assert b.take() == b"<127.0.0.1:5001> hello\n"
    room.line(C, b"from v6\n")
    assert a.take() == b"<[::1]:5003> from v6\n"


def test_join_and_leave_are_announced() -> None:
    clock = FakeClock()
    room = ChatRoom(clock)
    a, b = Seat(), Seat()
    room.join(A, a)
    assert a.take().startswith(b"* welcome 127.0.0.1:5001; 1 here")
    room.join(B, b)
    assert a.take() == b"* 127.0.0.1:5002 joined\n"
    room.leave(B, "quit")
    room.leave(B)
    assert a.take() == b"* 127.0.0.1:5002 left (quit)\n"
    assert B not in room
    assert len(room) == 1


def test_nick_prefixes_lines_with_nick_and_peer_key() -> None:
    room, _, a, b, c = room_of_three()
    room.line(A, b"/nick ada\n")
    assert a.take() == b"* you are now ada 127.0.0.1:5001\n"
    assert b.take() == b"* 127.0.0.1:5001 is now ada 127.0.0.1:5001\n"
    assert c.take() == b"* 127.0.0.1:5001 is now ada 127.0.0.1:5001\n"
    room.line(A, b"hi")
    assert c.take() == b"<ada 127.0.0.1:5001> hi\n"
    assert room.nick(A) == "ada"


@pytest.mark.parametrize("nick", ["", "two words", "x" * 33, "caf\u00e9!"])
def test_bad_nicks_are_refused(nick: str) -> None:
    room, _, a, _, _ = room_of_three()
    room.line(A, b"/nick " + nick.encode())
    assert a.take().startswith(b"* usage: /nick NAME")
    assert room.nick(A) is None


def test_nicks_are_unique_ignoring_case() -> None:
    room, _, _, b, _ = room_of_three()
    room.line(A, b"/nick Ada")
    room.line(B, b"/nick aDA")
    assert b.take().endswith(b"* nick aDA is taken\n")
    assert room.nick(B) is None
    room.line(A, b"/nick ADA")  # one's own nick, recased
    assert room.nick(A) == "ADA"


def test_who_lists_the_table() -> None:
    room, clock, a, _, _ = room_of_three()
    room.line(B, b"/nick bob")
    a.take()
    clock.advance(70)
    room.line(A, b"/who")
    assert a.take().decode().splitlines() == [
        "* 3 connected: peer nick age queued",
        "*   127.0.0.1:5001 - 1m15s 7 (you)",
        "*   127.0.0.1:5002 bob 1m10s 7",
        "*   [::1]:5003 - 1m10s 7",
    ]
    assert [(key, nick) for key, nick, _ in room.who()] == [(A, None), (B, "bob"), (C, None)]


def test_commands() -> None:
    room, _, a, b, _ = room_of_three()
    room.line(A, b"/dance")
    assert a.take().startswith(b"* unknown command /dance")
    room.line(A, b"//dance")
    assert b.take() == b"<127.0.0.1:5001> /dance\n"
    room.line(A, b"\n")
    room.line(A, b"\r\n")
    assert b.take() == b""
    assert room.line(A, b"/quit\n") is Action.QUIT
    assert a.take() == b"* bye\n"


def test_lines_from_strangers_are_ignored() -> None:
    room, _, a, _, _ = room_of_three()
    room.line(("10.0.0.1", 1), b"hi")
    assert a.take() == b""


def test_formatting() -> None:
    assert format_peer(("10.0.0.1", 80)) == "10.0.0.1:80"
    assert format_peer(("fe80::1%eth0", 80)) == "[fe80::1%eth0]:80"
    assert format_peer(("unix:/tmp/s", 3)) == "unix:/tmp/s#3"
    assert [format_age(s) for s in (0, 59.9, 60, 3599, 3600, 7322)] == [
        "0s",
        "59s",
        "1m00s",
        "59m59s",
        "1h00m",
        "2h02m",
    ]


# -- chat: the handler --------------------------------------------------------------


def chat_pair(
    send_queue: int = 1000,
) -> tuple[ChatRoom, ChatHandler, MemoryTransport, ChatHandler, MemoryTransport]:
    room = ChatRoom(FakeClock())
    ha = ChatHandler(room, A, max_line=100, send_queue=send_queue)
    ta = MemoryTransport(ha, peer=A)
    hb = ChatHandler(room, B, max_line=100, send_queue=send_queue)
    tb = MemoryTransport(hb, peer=B)
    ta.drain()  # the welcome and join lines
    tb.drain()
    return room, ha, ta, hb, tb


def test_chat_handler_relays_lines() -> None:
    _, _, ta, _, tb = chat_pair()
    assert ta.get_write_buffer_limits() == (250, 1000)
    ta.feed(b"one\ntw")
    ta.feed(b"o\n")
    assert tb.drain() == b"<127.0.0.1:5001> one\n<127.0.0.1:5001> two\n"


def test_chat_overlong_line_is_an_error_for_that_connection() -> None:
    room, _, ta, _, tb = chat_pair()
    ta.feed(b"x" * 100)
    assert isinstance(ta.exception, FrameTooLarge)
    assert ta.closed
    assert A not in room
    assert tb.drain() == b"* 127.0.0.1:5001 left (connection lost)\n"


def test_chat_quit_closes_and_leaves() -> None:
    room, _, ta, _, tb = chat_pair()
    ta.feed(b"/quit\n")
    assert ta.is_closing()
    assert A not in room
    assert tb.drain() == b"* 127.0.0.1:5001 left (quit)\n"
    assert ta.drain() == b"* bye\n"  # flushed, then closed
    assert ta.closed
    assert ta.exception is None
    assert tb.drain() == b""  # connection_lost does not announce it twice


def test_slow_reader_is_buffered_then_caught_up() -> None:
    _, _, ta, hb, tb = chat_pair(send_queue=1000)
    line = b"x" * 90 + b"\n"
    for _ in range(12):  # 12 * 109 bytes: over the high-water mark, within the backlog
        ta.feed(line)
    assert tb.writing_paused
    assert hb.queued() <= 2 * 1000 + 110
    assert not tb.is_closing()
    buffered = tb.drain()  # the reader catches up: resume_writing hands over the backlog
    backlog = tb.drain()
    assert backlog.count(b"\n") >= 1  # the backlog went out on resume
    assert (buffered + backlog).count(line[:-1]) == 12  # every line, once, in order
    assert hb.queued() == 0


def test_slow_reader_is_dropped_past_its_send_queue() -> None:
    room, _, ta, hb, tb = chat_pair(send_queue=1000)
    hc = ChatHandler(room, C, send_queue=1000)
    tc = MemoryTransport(hc, peer=C)
    got = bytearray(tc.drain())
    line = b"y" * 90 + b"\n"
    for _ in range(40):  # b never reads; c does
        ta.feed(line)
        assert hb.queued() <= 2 * 1000 + 110
        got += tc.drain()
    assert tb.closed
    assert tb.written == b""  # aborted: what was queued is dropped
    assert hb.dropped
    assert B not in room
    assert b"left (too slow: over 1000 bytes queued)" in got
    assert got.count(line[:-1]) == 40  # the others got every line
    assert got.count(b"5002 left") == 1  # connection_lost does not announce it twice


def test_chat_plugin_builds_one_room() -> None:
    from protocols.chat import plugin

    options = parse(plugin, ["--max-line", "64", "--send-queue", "4096"])
    assert (options.max_line, options.send_queue) == (64, 4096)
    clock = FakeClock()

    class Loop:
        def time(self) -> float:
            return clock()

    factory = plugin.make_factory(Loop(), options)  # type: ignore[arg-type]
    ha, hb = factory(A), factory(B)
    assert isinstance(ha, ChatHandler)
    assert isinstance(hb, ChatHandler)
    assert ha.room is hb.room
    assert ha.send_queue == 4096
    framer = ha.framer
    assert isinstance(framer, LineFramer)
    assert framer.max_size == 64
