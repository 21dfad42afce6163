"""Fuzzing the RTP parser and the jitter buffer with hypothesis."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.errors import RTPError
from hotline.rtp.jitterbuffer import JitterBuffer
from hotline.rtp.packet import RtpPacket, TelephoneEvent


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400))
def test_rtp_parser_raises_only_rtp_errors(data: bytes) -> None:
    try:
        packet = RtpPacket.parse(data)
    except RTPError:
        return
    assert RtpPacket.parse(bytes(packet)) == packet


@given(
    st.integers(0, 127).filter(lambda pt: not 72 <= pt <= 76),
    st.integers(0, 0xFFFF),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=200),
    st.booleans(),
    st.lists(st.integers(0, 2**32 - 1), max_size=15),
)
def test_rtp_round_trip(
    pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool, csrc: list[int]
) -> None:
    packet = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrc))
    assert RtpPacket.parse(bytes(packet)) == packet


@given(st.binary(max_size=8))
def test_telephone_event_parser(data: bytes) -> None:
    with contextlib.suppress(RTPError):
        TelephoneEvent.parse(data)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 0xFFFF),
    st.lists(st.integers(-40, 40), min_size=1, max_size=300),
    st.integers(1, 20),
)
def test_jitter_buffer_accounts_for_every_packet(
    start: int, offsets: list[int], capacity: int
) -> None:
    """Whatever the order: frames come out in sequence order, each at most once, and
    every packet is released, or counted as duplicate or late."""
    jb = JitterBuffer(capacity)
    released: list[int] = []
    sent = [(start + i + offset) & 0xFFFF for i, offset in enumerate(offsets)]
    for seq in sent:
        frames = jb.add(RtpPacket(0, seq, seq * 160, 1), 0)
        released += [f.packet.sequence_number for f in frames]
    released += [f.packet.sequence_number for f in jb.flush()]
    stats = jb.stats
    assert stats.received == len(released)
    assert stats.received + stats.duplicate + stats.late + _suspects(jb) == len(sent)
    unwrapped = _unwrap(released)
    in_order = unwrapped == sorted(unwrapped) and len(set(unwrapped)) == len(unwrapped)
    assert in_order or stats.resyncs


def _suspects(jb: JitterBuffer) -> int:
    return 1 if jb._suspect is not None else 0


def _unwrap(seqs: list[int]) -> list[int]:
    out, base, last = [], 0, None
    for s in seqs:
        if last is not None and s < last - 0x8000:
            base += 0x10000
        out.append(base + s)
        last = s
    return out
