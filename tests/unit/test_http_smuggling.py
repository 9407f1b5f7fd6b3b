"""Request smuggling: framing fields read only as other HTTP parsers read them.

A request that one server frames differently from the proxy in front of it
desyncs the connection (CL.0, TE.0).  The parser decodes a head as Latin-1,
where ``str.strip()`` also removes NEL (0x85), NBSP (0xA0) and the C0
separators; optional whitespace is only SP and HTAB (RFC 9110, 5.6.3), so a
framing value padded with anything else is malformed: 400, as nginx, h11 and
llhttp answer.  Host must name one host (RFC 9112, 3.2), and the
asterisk-form target belongs to OPTIONS alone.
"""

from __future__ import annotations

import itertools
from unittest import mock

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.http import parser as parser_module
from protocols.http.events import NEED_DATA, Data, HTTPError, RequestHead
from protocols.http.parser import RequestParser

# Every Latin-1 character str.strip() removes, less the real OWS.
NOT_OWS = [chr(c) for c in range(256) if chr(c).isspace() and chr(c) not in " \t"]

FRAMING = [
    ("Content-Length", "5", b"hello"),
    ("Transfer-Encoding", "chunked", b"5\r\nhello\r\n0\r\n\r\n"),
    ("Connection", "close", b""),
    ("Connection", "keep-alive", b""),
]


def events_or_status(wire: bytes, cuts: list[int], *, fast: bool = True) -> list[object] | int:
    """The events of ``wire`` fed in pieces, or the status of the error raised."""
    edges = [0, *sorted(cuts), len(wire)]
    parser = RequestParser()
    events: list[object] = []
    with mock.patch.object(
        parser_module,
        "_simple_head",
        parser_module._simple_head if fast else (lambda text, lim: None),
    ):
        try:
            for a, b in itertools.pairwise(edges):
                parser.feed(wire[a:b])
                while (event := parser.next_event()) is not NEED_DATA:
                    events.append(event)
        except HTTPError as exc:
            return exc.status
    return events


def h11_refuses(wire: bytes) -> bool:
    server = h11.Connection(h11.SERVER)
    server.receive_data(wire)
    try:
        while server.next_event() not in (h11.NEED_DATA, h11.PAUSED):
            pass
    except h11.RemoteProtocolError:
        return True
    return False


def test_the_characters_str_strip_would_remove() -> None:
    assert "\x85" in NOT_OWS and "\xa0" in NOT_OWS and "\x1f" in NOT_OWS


@pytest.mark.parametrize(
    "wire",
    [
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\xa0\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \x855\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\xa0\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \x85chunked\r\n\r\n0\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    ],
)
def test_refused_like_h11_refuses_it(wire: bytes) -> None:
    assert h11_refuses(wire)
    assert events_or_status(wire, []) == 400
    assert events_or_status(wire, [], fast=False) == 400


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(FRAMING),
    st.sampled_from(NOT_OWS),
    st.sampled_from(["before", "after", "both", "inside-list"]),
    st.text(alphabet=" \t", max_size=2),
    st.lists(st.integers(0, 120), max_size=6),
)
def test_framing_value_padded_with_other_whitespace_is_400(
    field: tuple[str, str, bytes], odd: str, where: str, ows: str, cuts: list[int]
) -> None:
    name, value, body = field
    padded = {
        "before": f"{ows}{odd}{value}",
        "after": f"{value}{odd}{ows}",
        "both": f"{odd}{value}{odd}",
        "inside-list": f"{value},{ows}{odd}{value}",
    }[where]
    wire = (
        f"POST / HTTP/1.1\r\nHost: h\r\n{name}: {padded}\r\n\r\n".encode("latin-1")
        + body
        + b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    cuts = [min(c, len(wire)) for c in cuts]
    assert events_or_status(wire, cuts) == 400
    assert events_or_status(wire, cuts, fast=False) == 400


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(FRAMING[:2]), st.text(alphabet=" \t", max_size=3), st.data())
def test_framing_value_padded_with_ows_frames_the_body(
    field: tuple[str, str, bytes], ows: str, data: st.DataObject
) -> None:
    name, value, body = field
    wire = (
        f"POST / HTTP/1.1\r\nHost: h\r\n{name}:{ows}{value}{ows}\r\n\r\n".encode("latin-1")
        + body
        + b"GET /next HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=6))
    for fast in (True, False):
        got = events_or_status(wire, cuts, fast=fast)
        assert isinstance(got, list)
        heads = [e for e in got if isinstance(e, RequestHead)]
        assert [h.target for h in heads] == ["/", "/next"]
        assert b"".join(e.data for e in got if isinstance(e, Data)) == b"hello"


reg_names = st.text(alphabet="abcxyz019.-_~!$&'()*+;=", min_size=1, max_size=12)
hosts = st.one_of(
    reg_names,
    st.sampled_from(["127.0.0.1", "[::1]", "[2001:db8::7]", "[v1.x]", "xn--bcher-kva.example"]),
).flatmap(lambda h: st.sampled_from([h, f"{h}:8080", f"{h}:"]))


@settings(max_examples=200, deadline=None)
@given(hosts)
def test_one_valid_host_is_accepted(host: str) -> None:
    wire = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    for fast in (True, False):
        got = events_or_status(wire, [], fast=fast)
        assert isinstance(got, list) and isinstance(got[0], RequestHead)
        assert got[0].headers.get("host") == host


@settings(max_examples=200, deadline=None)
@given(st.lists(hosts, min_size=2, max_size=4), st.text(alphabet=" \t", max_size=2))
def test_several_hosts_in_one_field_are_400(several: list[str], ows: str) -> None:
    wire = f"GET / HTTP/1.1\r\nHost: {f',{ows}'.join(several)}\r\n\r\n".encode()
    assert events_or_status(wire, []) == 400
    assert events_or_status(wire, [], fast=False) == 400


def test_empty_host_is_accepted() -> None:
    # An empty Host is valid when the target has no authority (RFC 9112, 3.2).
    got = events_or_status(b"GET / HTTP/1.1\r\nHost:\r\n\r\n", [])
    assert isinstance(got, list) and isinstance(got[0], RequestHead)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "options", "PATCH"])
def test_asterisk_form_only_for_options(method: str) -> None:
    wire = f"{method} * HTTP/1.1\r\nHost: h\r\n\r\n".encode()
    assert events_or_status(wire, []) == 400
    ok = events_or_status(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", [])
    assert isinstance(ok, list) and isinstance(ok[0], RequestHead) and ok[0].target == "*"


def test_empty_connection_list_elements_are_ignored() -> None:
    got = events_or_status(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: , close ,\r\n\r\n", [])
    assert isinstance(got, list) and isinstance(got[0], RequestHead)
    assert not got[0].keep_alive


def test_unknown_but_well_formed_coding_is_still_501() -> None:
    wire = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip;q=1\r\n\r\n"
    assert events_or_status(wire, []) == 501
