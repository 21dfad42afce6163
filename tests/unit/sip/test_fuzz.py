"""Fuzzing the SIP parser, the user agent core, SDP and the TCP framer with hypothesis:
anything may come in; only ``SIPProtocolError`` may come out of the parsers, and the
core never raises at all."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hotline.errors import SIPProtocolError
from hotline.sip.agent import AgentConfig, UserAgent
from hotline.sip.events import Peer
from hotline.sip.message import StreamFramer, parse_message
from hotline.sip.sdp import SessionDescription, answer

CAPTURED = [p.read_bytes() for p in sorted((Path(__file__).parent / "captured").glob("*.sip"))]
PEER = Peer("udp", "127.0.0.1", 5999)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A captured INVITE with bytes flipped, cut, inserted or lines shuffled."""
    data = bytearray(draw(st.sampled_from(CAPTURED)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "swap-lines", "drop-line"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(
                st.binary(max_size=20)
                | st.sampled_from([b"\r\n", b":", b";", b"<", b">", b",", b'"'])
            )
        else:
            lines = bytes(data).split(b"\r\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "swap-lines":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                del lines[i]
            data = bytearray(b"\r\n".join(lines))
    return bytes(data)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), mutated()))
def test_parser_raises_only_protocol_errors(data: bytes) -> None:
    try:
        message = parse_message(data)
        if hasattr(message, "check"):
            message.check()
        bytes(message)
        for attribute in ("from_", "to", "cseq", "vias"):
            getattr(message, attribute)
    except SIPProtocolError:
        pass


@FUZZ
@given(
    st.lists(st.one_of(mutated(), st.binary(max_size=300)), min_size=1, max_size=6), st.booleans()
)
def test_user_agent_never_raises(messages: list[bytes], answer_calls: bool) -> None:
    ua = UserAgent(AgentConfig(), lambda peer: ("127.0.0.1", 5060))
    now = 0.0
    for data in messages:
        now += 0.3
        ua.receive(data, PEER, now)
        while (event := ua.next_event()) is not None:
            call_id = getattr(event, "call_id", None)
            if call_id is not None and answer_calls:
                ua.answer(call_id, b"v=0\r\n", now)
                ua.hangup(call_id, now + 0.1)
        ua.datagrams_to_send()
        while (deadline := ua.get_timer()) is not None and deadline < now + 40:
            ua.handle_timer(deadline)
            ua.datagrams_to_send()


@FUZZ
@given(st.one_of(mutated(), st.binary(max_size=1000)))
def test_sdp_raises_only_protocol_errors(data: bytes) -> None:
    body = data.split(b"\r\n\r\n", 1)[-1]
    try:
        sd = SessionDescription.parse(body)
        answer(sd, address="127.0.0.1", port=4000, session_id=1, version=1)
    except SIPProtocolError:
        pass


@FUZZ
@given(st.lists(st.one_of(mutated(), st.binary(max_size=100)), max_size=5), st.integers(1, 50))
def test_stream_framer(chunks: list[bytes], step: int) -> None:
    framer = StreamFramer()
    stream = b"".join(chunks)
    try:
        for i in range(0, len(stream), step):
            framer.feed(stream[i : i + step])
    except SIPProtocolError:
        pass
