"""RTP packets, telephone events, G.711, the jitter buffer and the timeline: bytes in,
values out, no sockets."""

from __future__ import annotations

import struct

import pytest

from hotline.errors import RTPError
from hotline.rtp import g711
from hotline.rtp.jitterbuffer import JitterBuffer
from hotline.rtp.packet import RtpPacket, TelephoneEvent
from hotline.rtp.timeline import Timeline


def packet(seq: int, ts: int | None = None, ssrc: int = 7) -> RtpPacket:
    return RtpPacket(
        payload_type=0,
        sequence_number=seq & 0xFFFF,
        timestamp=(ts if ts is not None else seq * 160) & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=bytes([seq & 0xFF]) * 160,
    )


def test_packet_round_trip() -> None:
    p = RtpPacket(
        payload_type=8,
        sequence_number=65535,
        timestamp=2**32 - 1,
        ssrc=0xDEADBEEF,
        payload=b"\x01\x02",
        marker=True,
        csrc=(1, 2),
    )
    assert RtpPacket.parse(bytes(p)) == p


def test_packet_with_extension_and_padding() -> None:
    header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10, 0, 5, 160, 9)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\xaa\xbb\xcc\xdd"
    data = header + extension + b"audio" + b"\x00\x00\x03"
    parsed = RtpPacket.parse(data)
    assert parsed.payload == b"audio" and parsed.sequence_number == 5


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80" * 11,
        b"\x40" + b"\x00" * 20,
        struct.pack("!BBHII", 0x80, 200, 0, 0, 0),
        struct.pack("!BBHII", 0x8F, 0, 0, 0, 0),
        struct.pack("!BBHII", 0xA0, 0, 0, 0, 0) + b"\x09",
    ],
)
def test_bad_packets_raise_rtp_error(data: bytes) -> None:
    with pytest.raises(RTPError):
        RtpPacket.parse(data)


def test_telephone_event() -> None:
    event = TelephoneEvent.parse(bytes.fromhex("0b8a0320"))
    assert (event.digit, event.end, event.volume, event.duration) == ("#", True, 10, 800)
    assert bytes(event) == bytes.fromhex("0b8a0320")


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
def test_g711_round_trip_keeps_every_code(codec: str) -> None:
    codes = bytes(c for c in range(256) if not (codec == "PCMU" and c == 0x7F))  # µ-law "-0"
    assert g711.encode(g711.decode(codes, codec), codec) == codes
    # The silence code each law sends: µ-law 0xFF is 0, A-law 0xD5 the smallest step, 8.
    assert int(g711.decode(bytes([g711.SILENCE[codec]]), codec)[0]) == {"PCMU": 0, "PCMA": 8}[codec]


def seqs(frames) -> list[int]:
    return [f.packet.sequence_number for f in frames]


def test_in_order_packets_leave_at_once() -> None:
    jb = JitterBuffer(capacity=4)
    assert [seqs(jb.add(packet(s), 0)) for s in (10, 11, 12)] == [[10], [11], [12]]
    assert jb.stats.lost == 0


def test_reordered_packets_come_out_in_order() -> None:
    jb = JitterBuffer(capacity=4)
    out = []
    for s in (1, 3, 2, 5, 4, 6):
        out += seqs(jb.add(packet(s), 0))
    assert out == [1, 2, 3, 4, 5, 6] and jb.stats.lost == 0


def test_a_gap_is_lost_once_capacity_packets_wait() -> None:
    jb = JitterBuffer(capacity=3)
    out = seqs(jb.add(packet(1), 0))
    for s in (3, 4):
        assert jb.add(packet(s), 0) == []
    out += seqs(jb.add(packet(5), 0))
    assert out == [1, 3, 4, 5] and jb.stats.lost == 1
    assert jb.add(packet(2), 0) == [] and jb.stats.late == 1  # too late now


def test_duplicates_and_wraparound() -> None:
    jb = JitterBuffer(capacity=4)
    out = []
    for s in (65534, 65535, 65535, 0, 1, 0):
        out += seqs(jb.add(packet(s), 0))
    assert out == [65534, 65535, 0, 1]
    assert jb.stats.duplicate == 2 and jb.stats.lost == 0


def test_flush_counts_the_gaps() -> None:
    jb = JitterBuffer(capacity=10)
    jb.add(packet(1), 0)
    jb.add(packet(4), 0)
    assert seqs(jb.flush()) == [4] and jb.stats.lost == 2


def test_a_restarted_sequence_is_followed() -> None:
    jb = JitterBuffer(capacity=4)
    for s in range(1000, 1300):
        jb.add(packet(s), 0)
    out = seqs(jb.add(packet(5), 0)) + seqs(jb.add(packet(6), 0)) + seqs(jb.add(packet(7), 0))
    assert out == [5, 6, 7] and jb.stats.resyncs == 1 and jb.stats.lost == 0


def test_timeline_places_by_timestamp_and_reanchors() -> None:
    line = Timeline(max_ahead=800, max_behind=4000)
    assert line.place(1, 1000, arrival=80) == 80
    assert line.place(1, 1160, arrival=300) == 240  # jitter does not move audio
    assert line.place(1, 1320, arrival=3000) == 400  # nor a late read, within max_behind
    assert line.place(1, 1000 + 8000, arrival=8100) == 8080  # a silent period, same clock
    assert line.place(1, 5, arrival=9000) == 9000 and line.reanchors == 1  # clock went back
    assert line.place(1, 5 + 8000, arrival=9100) == 9100 and line.reanchors == 2  # jumped ahead
    assert line.place(2, 99, arrival=9200) == 9200  # a new source


def test_a_burst_after_the_network_held_packets_back_keeps_each_in_its_place() -> None:
    """1.5 s of packets held back and let through at once: each stays where its
    timestamp says, none lands on another (placed by arrival, the caller's words in
    the stall were written over each other)."""
    line = Timeline()
    placed = [line.place(7, 1000 + 160 * k, arrival=160 * k, samples=160) for k in range(30)]
    burst = 160 * 105  # packets 30-104 arrive together, when 105 is due
    placed += [line.place(7, 1000 + 160 * k, arrival=burst, samples=160) for k in range(30, 105)]
    placed += [line.place(7, 1000 + 160 * k, arrival=160 * k, samples=160) for k in range(105, 150)]
    assert placed == [160 * k for k in range(150)] and line.reanchors == 0


def test_a_late_first_packet_shifts_the_stream_and_overwrites_nothing() -> None:
    """The first 25 packets held back 0.48 s: the stream starts late and stays a
    constant step behind its clock, every packet after the one before."""
    line = Timeline()
    late = 160 * 24
    placed = [line.place(7, 160 * k, arrival=late, samples=160) for k in range(25)]
    placed += [line.place(7, 160 * k, arrival=160 * k, samples=160) for k in range(25, 100)]
    assert placed == [late + 160 * k for k in range(100)]
    assert line.end == late + 160 * 100


def test_after_a_hold_the_clock_need_not_follow() -> None:
    """A sender that left its clock where it was across a 5 s hold: after the hold
    (the SDP said so) its audio goes where it arrives, not 5 s back."""
    line = Timeline()
    assert line.place(7, 0, arrival=0, samples=160) == 0
    assert line.place(7, 160, arrival=160, samples=160) == 160
    line.pause()
    assert line.place(7, 320, arrival=320 + 5 * 8000, samples=160) == 320 + 5 * 8000
    assert line.reanchors == 1


def test_numbers_that_jump_leave_no_memory_behind() -> None:
    """A sender whose sequence numbers step by 100 (each a loss, within the dropout
    limit): what the buffer remembers to tell duplicates stays a few dozen numbers."""
    jb = JitterBuffer(capacity=16)
    for n in range(5000):
        jb.add(packet((n * 100) & 0xFFFF), 0)
    assert len(jb._released) <= 4 * 16 + 1
    assert jb.stats.received == 5000
