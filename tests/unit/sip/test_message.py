"""SIP messages: real INVITEs captured from sipp 3.6.1 and baresip 1.0.0, compact forms,
folding, responses, TCP framing, and the structured header values."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.errors import SIPProtocolError
from hotline.sip.address import URI, Address, CSeq, Via, split_list
from hotline.sip.message import Request, Response, StreamFramer, parse_message, response_to
from hotline.sip.sdp import SessionDescription

CAPTURED = Path(__file__).parent / "captured"


@pytest.mark.parametrize("name", ["sipp-3.6.1-invite.sip", "baresip-1.0.0-invite.sip"])
def test_captured_invites(name: str) -> None:
    message = parse_message((CAPTURED / name).read_bytes())
    assert isinstance(message, Request) and message.method == "INVITE"
    message.check()
    assert message.from_.uri.user == "13800138000" and message.from_.tag
    assert URI.parse(message.uri).user == "12340"
    assert message.cseq.method == "INVITE" and message.top_via.branch.startswith("z9hG4bK")
    sd = SessionDescription.parse(message.body)
    assert sd.media[0].encoding(0) == "PCMU"
    again = parse_message(bytes(message))
    assert again.headers.items == message.headers.items and again.body == message.body


def test_compact_forms_folding_and_lists() -> None:
    data = (
        b"BYE sip:a@b SIP/2.0\r\n"
        b"v: SIP/2.0/UDP h1;branch=z9hG4bK1, SIP/2.0/TCP h2:5070;branch=z9hG4bK2\r\n"
        b"f: <sip:x@y>;tag=1\r\nt: <sip:a@b>;tag=2\r\ni: abc\r\nCSeq: 2\r\n BYE\r\nl: 0\r\n\r\n"
    )
    message = parse_message(data)
    assert isinstance(message, Request)
    message.check()
    assert message.call_id == "abc" and message.cseq == CSeq(2, "BYE")
    assert [v.host for v in message.vias] == ["h1", "h2"] and message.vias[1].port == 5070


def test_response_copies_what_it_must() -> None:
    request = parse_message((CAPTURED / "sipp-3.6.1-invite.sip").read_bytes())
    assert isinstance(request, Request)
    response = response_to(request, 180, "Ringing", to_tag="abc")
    parsed = parse_message(bytes(response))
    assert isinstance(parsed, Response) and parsed.status == 180
    assert parsed.to.tag == "abc" and parsed.call_id == request.call_id
    assert parsed.headers.get("Content-Length") == "0"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n\r\n", 400),
        (
            b"INVITE mailto:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
            b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
            b"Call-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n",
            416,
        ),
        (b"OPTIONS sip:a@b SIP/3.0\r\nVia: SIP/2.0/UDP h\r\n\r\n", 505),
        (
            b"INFO sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n"
            b"From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\n"
            b"Call-ID: 1\r\nCSeq: 1 INFO\r\nMax-Forwards: 0\r\n\r\n",
            483,
        ),
    ],
)
def test_invalid_requests_carry_their_status(data: bytes, status: int) -> None:
    message = parse_message(data)
    assert isinstance(message, Request)
    with pytest.raises(SIPProtocolError) as caught:
        message.check()
    assert caught.value.status == status


@pytest.mark.parametrize(
    "data",
    [
        b"hello",
        b"INVITE\r\n\r\n",
        b"SIP/2.0 abc OK\r\n\r\n",
        b"A B C\r\nno colon\r\n\r\n",
        b"INVITE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nshort",
        b"\xff\xfe\r\n\r\n",
    ],
)
def test_garbage_raises_protocol_error(data: bytes) -> None:
    with pytest.raises(SIPProtocolError):
        parse_message(data)


def test_stream_framer_splits_and_joins() -> None:
    one = bytes(
        Request(
            headers=parse_message(b"OPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\n").headers,
            body=b"x",
            method="OPTIONS",
            uri="sip:a",
        )
    )
    framer = StreamFramer()
    stream = b"\r\n\r\n" + one + one
    out = []
    for i in range(0, len(stream), 7):
        out += framer.feed(stream[i : i + 7])
    assert out == [one, one]
    with pytest.raises(SIPProtocolError):
        StreamFramer().feed(b"OPTIONS sip:a SIP/2.0\r\nContent-Length: x\r\n\r\n")


def test_addresses() -> None:
    a = Address.parse('"Zhang \\"San\\"" <sip:+8613800138000@[::1]:5070;transport=tcp>;tag=9')
    assert (
        a.display == 'Zhang "San"' and a.uri.host == "::1" and a.uri.port == 5070 and a.tag == "9"
    )
    assert Address.parse(str(a)) == a
    assert Address.parse("sip:bob@h;tag=3").tag == "3"
    assert URI.parse("tel:+8612340").user == "+8612340"
    assert split_list('"a, b" <sip:x>, <sip:y;a=1,2>') == ['"a, b" <sip:x>', "<sip:y;a=1,2>"]
    assert (
        str(Via.parse("SIP/2.0/udp h:1;branch=z9hG4bKq;rport"))
        == "SIP/2.0/UDP h:1;branch=z9hG4bKq;rport"
    )
    for bad in ("<sip:x", "http://x", "sip:", "sip:a@b:99999"):
        with pytest.raises(SIPProtocolError):
            Address.parse(bad)
