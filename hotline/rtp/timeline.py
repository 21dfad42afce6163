"""Where a caller's RTP audio belongs in the recording.

The recording runs on the wall clock from the moment the call was answered: sample
``n`` is ``n / rate`` seconds after answer. RTP timestamps give each packet's place
relative to the others (so reordering, jitter, and our own processing delays do not
move audio), anchored to the wall clock by the first packet's arrival. It anchors
again on a new SSRC, or when a timestamp cannot be right: ahead of the packet's
arrival by more than ``max_ahead`` samples (audio cannot arrive before it was sent),
or behind it by more than ``max_behind`` (a sender that restarted its clock, replays
a file, or did not advance it across a hold).
"""

from __future__ import annotations


class Timeline:
    def __init__(self, *, max_ahead: int = 1600, max_behind: int = 8000) -> None:
        self.max_ahead = max_ahead
        self.max_behind = max_behind
        self.reanchors = 0
        self._ssrc: int | None = None
        self._anchor_ts = 0
        self._anchor_pos = 0

    def place(self, ssrc: int, timestamp: int, arrival: int) -> int:
        """The recording position (in samples) of a packet that arrived at ``arrival``."""
        if ssrc == self._ssrc:
            delta = ((timestamp - self._anchor_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            position = self._anchor_pos + delta
            if -self.max_behind <= position - arrival <= self.max_ahead:
                return position
            self.reanchors += 1
        self._ssrc = ssrc
        self._anchor_ts = timestamp
        self._anchor_pos = arrival
        return arrival
