"""A jitter buffer for recording: puts RTP packets back in sequence order and counts
what never arrived.

In-order packets leave at once; a gap holds the packets behind it until either the
gap is filled or ``capacity`` packets wait, then the gap is declared lost (RFC 3550
§A.1 sequence arithmetic, modulo 2^16). Every call is O(1) amortised, O(capacity) at
worst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from hotline.rtp.packet import RtpPacket

MAX_DROPOUT = 3000
"""A jump further than this (RFC 3550 §A.1) is a restarted sender, not a loss."""
MAX_MISORDER = 100
"""Further behind than this, a packet may be the first of a restarted sequence."""


class Frame(NamedTuple):
    packet: RtpPacket
    arrival: int
    """When it arrived, in the caller's units (the recorder uses samples since answer)."""


@dataclass(slots=True)
class JitterStats:
    received: int = 0
    """Distinct packets accepted."""
    lost: int = 0
    """Sequence numbers skipped over: never arrived before their turn."""
    late: int = 0
    """Arrived after their turn was given up (also counted in ``lost``)."""
    duplicate: int = 0
    resyncs: int = 0


class JitterBuffer:
    def __init__(self, capacity: int = 16) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.stats = JitterStats()
        self._head: int | None = None  # extended sequence number of the next frame out
        self._held: dict[int, Frame] = {}
        self._released: set[int] = set()  # recent ones, to tell duplicates from late
        self._suspect: Frame | None = None  # far behind: a restart if the next follows it
        self._suspect_audio = True
        self._other: set[int] = set()  # held numbers that are not audio

    def __len__(self) -> int:
        return len(self._held)

    def add(self, packet: RtpPacket, arrival: int, *, audio: bool = True) -> list[Frame]:
        """Take one packet; return the frames now ready, in sequence order. A packet that
        is not audio (an RFC 4733 event, comfort noise) takes its place in the sequence,
        so that it is not counted as a loss, and is never returned."""
        if self._head is None:
            self._head = packet.sequence_number
        head = self._head
        delta = ((packet.sequence_number - head + 0x8000) & 0xFFFF) - 0x8000
        seq = head + delta
        if delta < 0:
            if seq in self._released:
                self.stats.duplicate += audio
            elif -delta <= MAX_MISORDER:
                self.stats.late += audio
            elif (
                self._suspect is not None
                and packet.sequence_number == (self._suspect.packet.sequence_number + 1) & 0xFFFF
            ):
                # Two in a row far behind: the sender restarted its sequence (§A.1).
                first, self._suspect = self._suspect, None
                again = self._resync(first.packet, first.arrival, self._suspect_audio)
                return again + self.add(packet, arrival, audio=audio)
            else:
                self._suspect, self._suspect_audio = Frame(packet, arrival), audio
            return []
        self._suspect = None
        if seq in self._held:
            self.stats.duplicate += 1
            return []
        if delta > MAX_DROPOUT:
            return self._resync(packet, arrival, audio)
        if audio:
            self.stats.received += 1
        else:
            self._other.add(seq)
        self._held[seq] = Frame(packet, arrival)
        out: list[Frame] = []
        if delta >= self.capacity:
            self._release_until(seq - self.capacity + 1, out)
        self._release_ready(out)
        return out

    def flush(self) -> list[Frame]:
        """Give up on every gap: release everything held, in order."""
        out: list[Frame] = []
        if self._held:
            self._release_until(max(self._held) + 1, out)
        return out

    def _resync(self, packet: RtpPacket, arrival: int, audio: bool) -> list[Frame]:
        out = self.flush()
        self.stats.resyncs += 1
        self._head = None
        self._released.clear()
        return out + self.add(packet, arrival, audio=audio)

    def _release_until(self, target: int, out: list[Frame]) -> None:
        assert self._head is not None
        for seq in sorted(s for s in self._held if s < target):
            self.stats.lost += seq - self._head
            self._out(seq, out)
            self._mark(seq)
            self._head = seq + 1
        if target > self._head:
            self.stats.lost += target - self._head
            self._head = target

    def _release_ready(self, out: list[Frame]) -> None:
        assert self._head is not None
        while self._head in self._held:
            self._out(self._head, out)
            self._mark(self._head)
            self._head += 1

    def _out(self, seq: int, out: list[Frame]) -> None:
        frame = self._held.pop(seq)
        if seq in self._other:
            self._other.discard(seq)
        else:
            out.append(frame)

    def _mark(self, seq: int) -> None:
        self._released.add(seq)
        self._released.discard(seq - 2 * self.capacity)
        if len(self._released) > 4 * self.capacity:
            # A sender whose numbers jump leaves ones the line above never meets again.
            floor = seq - 2 * self.capacity
            self._released = {s for s in self._released if s >= floor}
