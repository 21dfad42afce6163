"""Per-speaker segments merged into one conversation, in time order.

Each channel (or MixMonitor leg) of a call is one speaker, transcribed on its own;
their segments interleave by start time. Where two people talk at once, the one who
started first comes first; equal starts keep the channel order.
"""

from __future__ import annotations

from collections.abc import Sequence

from transcriber.result import Segment


def merge_by_time(tracks: Sequence[Sequence[Segment]]) -> tuple[Segment, ...]:
    """All segments of all tracks, ordered by start, then end, then track order."""
    keyed = [
        (s.start, s.end, track, i, s)
        for track, segments in enumerate(tracks)
        for i, s in enumerate(segments)
    ]
    keyed.sort(key=lambda k: k[:4])
    return tuple(k[4] for k in keyed)
