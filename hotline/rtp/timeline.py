"""Where a caller's RTP audio belongs in the recording.

The recording runs on the wall clock from the moment the call was answered: sample
``n`` is ``n / rate`` seconds after answer. RTP timestamps give each packet's place
relative to the others (so reordering, jitter, and our own processing delays do not
move audio), anchored to the wall clock by the first packet's arrival. It anchors
again on a new SSRC, or when a timestamp cannot be right: ahead of the packet's
arrival by more than ``max_ahead`` samples (audio cannot arrive before it was sent),
or behind it by more than ``max_behind`` (a sender that restarted its clock, replays
a file, or did not advance it across a hold).

A packet that follows the one before it on the sender's clock (a timestamp at most
``follow`` samples from it) is not a clock that jumped: it keeps its place relative to
the stream however late it arrives (up to ``max_late``), and up to ``max_lead`` ahead.
That is a burst after the network held packets back: placed by arrival, each would
land on the one before and the caller's words in between would be lost. A hold (the
SDP says so) ends the following, since a sender may leave its clock where it was.

An anchor never lands on audio already placed: at the earliest, where the stream's
last packet ended.
"""

from __future__ import annotations

RATE = 8000


class Timeline:
    def __init__(
        self,
        *,
        max_ahead: int = 1600,
        max_behind: int = 8000,
        follow: int = 1600,
        max_late: int = 30 * RATE,
        max_lead: int = RATE,
    ) -> None:
        self.max_ahead = max_ahead
        self.max_behind = max_behind
        self.follow = follow
        self.max_late = max_late
        self.max_lead = max_lead
        self.reanchors = 0
        self._ssrc: int | None = None
        self._anchor_ts = 0
        self._anchor_pos = 0
        self._last_ts: int | None = None
        self._end = 0
        """Where the audio placed so far ends (the furthest sample)."""

    @property
    def end(self) -> int:
        """The position just past the furthest audio placed."""
        return self._end

    def pause(self) -> None:
        """The stream paused (a hold): what comes next need not follow on its clock."""
        self._last_ts = None

    def place(self, ssrc: int, timestamp: int, arrival: int, samples: int = 0) -> int:
        """The recording position (in samples) of a packet of ``samples`` samples that
        arrived at ``arrival``."""
        position = self._placed(ssrc, timestamp, arrival)
        self._last_ts = timestamp
        self._end = max(self._end, position + samples)
        return position

    def _placed(self, ssrc: int, timestamp: int, arrival: int) -> int:
        if ssrc == self._ssrc:
            position = self._anchor_pos + _delta(timestamp, self._anchor_ts)
            ahead = position - arrival
            if -self.max_behind <= ahead <= self.max_ahead:
                return position
            follows = (
                self._last_ts is not None and abs(_delta(timestamp, self._last_ts)) <= self.follow
            )
            if follows and -self.max_late <= ahead <= self.max_lead:
                return position
            self.reanchors += 1
        self._ssrc = ssrc
        self._anchor_ts = timestamp
        self._anchor_pos = max(arrival, self._end)
        return self._anchor_pos


def _delta(timestamp: int, since: int) -> int:
    """``timestamp - since`` on the 32-bit RTP clock, wrapped to the nearer direction."""
    return ((timestamp - since + 0x80000000) & 0xFFFFFFFF) - 0x80000000
