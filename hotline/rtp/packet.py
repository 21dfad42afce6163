"""RTP packets (RFC 3550 §5.1) and RFC 4733 telephone events: ``parse()`` and ``bytes()``."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from hotline.errors import RTPError

_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")


def build(
    payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = False
) -> bytes:
    """One RTP packet without CSRCs, straight to bytes (the sending hot path)."""
    return (
        _HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, seq, timestamp, ssrc) + payload
    )


class RtpPacket(NamedTuple):
    """One RTP packet (a named tuple: cheap to make, once per packet)."""

    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """One RTP packet; ``RTPError`` for anything else (RTCP, STUN, garbage)."""
        if len(data) < 12:
            raise RTPError(f"RTP packet too short ({len(data)} bytes)")
        first, second, seq, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != 2:
            raise RTPError(f"not RTP version 2 (version {first >> 6})")
        payload_type = second & 0x7F
        if 72 <= payload_type <= 76:
            # RFC 5761 §4: these values on the wire are RTCP packet types 200-204.
            raise RTPError(f"RTCP packet (type {payload_type + 128}) on the RTP port")
        csrc_count = first & 0x0F
        offset = 12 + 4 * csrc_count
        if len(data) < offset:
            raise RTPError("RTP packet truncated in its CSRC list")
        csrc = struct.unpack_from(f"!{csrc_count}I", data, 12) if csrc_count else ()
        if first & 0x10:  # header extension (§5.3.1): skip it
            if len(data) < offset + 4:
                raise RTPError("RTP packet truncated in its header extension")
            (words,) = struct.unpack_from("!H", data, offset + 2)
            offset += 4 + 4 * words
            if len(data) < offset:
                raise RTPError("RTP header extension longer than the packet")
        end = len(data)
        if first & 0x20:  # padding: the last octet counts the padding octets
            padding = data[-1]
            if padding == 0 or offset + padding > end:
                raise RTPError("RTP padding length is invalid")
            end -= padding
        return cls(
            payload_type, seq, timestamp, ssrc, data[offset:end], bool(second & 0x80), tuple(csrc)
        )

    def __bytes__(self) -> bytes:
        first = 0x80 | len(self.csrc)
        second = (0x80 if self.marker else 0) | self.payload_type
        header = _HEADER.pack(first, second, self.sequence_number, self.timestamp, self.ssrc)
        return header + b"".join(struct.pack("!I", c) for c in self.csrc) + self.payload


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """One RFC 4733 §2.3 event payload: a DTMF digit (0-15) and its state."""

    event: int
    end: bool
    volume: int
    duration: int

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        if len(payload) < 4:
            raise RTPError(f"telephone-event payload too short ({len(payload)} bytes)")
        event, flags, duration = _EVENT.unpack_from(payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def digit(self) -> str:
        """``0``-``9``, ``*``, ``#``, ``A``-``D``; ``?`` for events that are not DTMF."""
        return "0123456789*#ABCD"[self.event] if self.event < 16 else "?"
