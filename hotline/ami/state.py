"""The tracker's bookkeeping: channels, hotline calls, recording sessions and files.

``TrackerState`` holds the maps and the primitive operations on them (create a channel
from an event's snapshot, register a recording file, attach a recording session to its
call, stop it, forget a finished call); ``hotline.ami.tracker.Tracker`` builds on it and
decides what AMI events mean. No I/O, no clock.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from typing import Final

from hotline.ami.completeness import timestamp
from hotline.ami.message import Message
from hotline.ami.model import (
    Call,
    Channel,
    File,
    Group,
    Output,
    SendAction,
    TrackerConfig,
    WatchFile,
)
from hotline.ami.recordings import PathMap, RecordingName
from hotline.calls import Incident, IncidentKind, RecordingStarted

__all__ = ["NOTHING", "TrackerState"]

NOTHING: Final[list[Output]] = []
"""Shared empty result (never mutated)."""
UP: Final = "6"
"""``ChannelState`` of an answered channel."""
_DONE_MEMORY: Final = 20_000


def _stamp(path: str) -> datetime | None:
    parsed = RecordingName.parse(path)
    return parsed.stamp if parsed is not None else None


def _known(value: str | None) -> str:
    return "" if value in (None, "<unknown>") else str(value)


class TrackerState:
    """Maps and primitives; see ``Tracker`` for the meaning of events."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self._paths = (
            PathMap(config.pbx_recordings_dir, config.recordings_dir)
            if config.recordings_dir is not None
            else None
        )
        self._channels: dict[str, Channel] = {}
        self._by_linkedid: dict[str, set[str]] = {}
        self._calls: dict[str, Call] = {}
        self._by_uid: dict[str, str] = {}
        """Uniqueid of a hotline channel → its call (``Cdr`` names the channel only)."""
        self._files: dict[str, tuple[Group, File]] = {}
        """Recording files not finished yet, by their PBX path."""
        self._done: dict[str, None] = {}
        """Recently finished files (insertion-ordered, bounded)."""
        self._guards: list[tuple[float, str]] = []
        self.unmapped = 0
        """Recordings of hotline calls announced outside the shared directory."""
        self.last_unmapped = ""
        """The latest of them, as the PBX named it."""
        self.missing = 0
        """Recordings of hotline calls that never appeared in the shared directory."""

    # -- inspection -------------------------------------------------------------------

    @property
    def calls_tracked(self) -> int:
        return len(self._calls)

    @property
    def channels_tracked(self) -> int:
        return len(self._channels)

    @property
    def files_pending(self) -> int:
        return len(self._files)

    def next_deadline(self) -> float | None:
        return self._guards[0][0] if self._guards else None

    def known_file(self, key: str) -> bool:
        return key in self._files or key in self._done

    # -- channels ---------------------------------------------------------------------

    def _channel(self, m: Message, now: float) -> Channel | None:
        """The channel an event is about, created from its snapshot if it is new to us
        (it existed before we connected)."""
        uid = m.get("uniqueid")
        if not uid:
            return None
        channel = self._channels.get(uid)
        if channel is None:
            channel = self._new_channel(m, uid, now)
        return channel

    def _new_channel(self, m: Message, uid: str, now: float) -> Channel:
        linkedid = m.get("linkedid") or uid
        channel = Channel(
            uniqueid=uid,
            linkedid=linkedid,
            name=m.get("channel") or "",
            caller=_known(m.get("calleridnum")),
            caller_name=_known(m.get("calleridname")),
            exten=m.get("dnid") or m.get("exten") or "",
            created_at=now,
        )
        if m.get("channelstate") == UP:
            channel.answered_at = now
        self._channels[uid] = channel
        self._by_linkedid.setdefault(linkedid, set()).add(uid)
        return channel

    def _drop_channel(self, uid: str) -> Channel | None:
        channel = self._channels.pop(uid, None)
        if channel is not None:
            siblings = self._by_linkedid.get(channel.linkedid)
            if siblings is not None:
                siblings.discard(uid)
                if not siblings:
                    del self._by_linkedid[channel.linkedid]
        return channel

    def _live_channel(self, call: Call) -> Channel | None:
        for uid in call.live:
            channel = self._channels.get(uid)
            if channel is not None:
                return channel
        return None

    # -- recordings -------------------------------------------------------------------

    def _add_file(self, group: Group, key: str, leg: str) -> File:
        local = self._paths.to_local(key) if self._paths is not None else None
        file = File(key=key, leg=leg, local=local)
        group.files.append(file)
        self._files[key] = (group, file)
        return file

    def _attach(self, call: Call, group: Group, now: float, *, announce: bool) -> list[Output]:
        group.call = call
        group.sequence = len(call.groups)
        call.groups.append(group)
        if group.origin != "message":
            call.guard_at = None
        if not announce:
            return NOTHING
        return [self._started(call, group, f, now) for f in group.files]

    def _started(self, call: Call, group: Group, file: File, now: float) -> RecordingStarted:
        return RecordingStarted(
            call_id=call.call_id,
            at=timestamp(group.started_at if group.started_at is not None else now),
            name=file.key,
            leg=file.leg,
        )

    def _stop_group(self, group: Group, at: float | None) -> list[Output]:
        """The recording session ended (``at`` is ``None`` when we did not see when):
        watch its files until they are closed."""
        if group.stopped:
            return NOTHING
        group.stopped = True
        group.stopped_at = at
        out: list[Output] = []
        for file in group.files:
            if file.state != "running":
                continue
            if group.call is not None and self._paths is not None and file.local is not None:
                file.state = "watching"
                out.append(WatchFile(file.key, file.local))
                continue
            # Not a hotline call's, pick-up disabled, or not reachable from here.
            file.state = "done"
            self._files.pop(file.key, None)
            call = group.call
            if call is not None and self._paths is not None:
                self.unmapped += 1
                self.last_unmapped = file.key
            if call is not None and self._paths is not None and group.origin != "message":
                out.append(
                    Incident(
                        kind=IncidentKind.INCOMPLETE,
                        at=timestamp(at if at is not None else group.started_at or 0.0),
                        call_id=call.call_id,
                        detail=(
                            f"recording {file.key} is outside the shared recordings directory "
                            f"{self.config.pbx_recordings_dir} (as the PBX names it: "
                            "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH); it cannot be picked up"
                        ),
                    )
                )
        return out

    def _remember_done(self, key: str) -> None:
        self._done[key] = None
        if len(self._done) > _DONE_MEMORY:
            del self._done[next(iter(self._done))]

    def _start_group(
        self,
        channel: Channel,
        mix: str | None,
        legs: dict[str, str],
        origin: str,
        started_at: float | None,
        now: float,
    ) -> list[Output]:
        group = Group(channel=channel.uniqueid, origin=origin, started_at=started_at)
        if mix is not None:
            group.stamp = _stamp(mix)
            self._add_file(group, mix, "mix")
        for leg, path in legs.items():
            if not self.known_file(path):
                self._add_file(group, path, leg)
        channel.running.append(group)
        out: list[Output] = []
        if mix is None:
            getvar = Message.action("Getvar", Channel=channel.name, Variable="MIXMONITOR_FILENAME")
            out.append(SendAction(f"getvar:{channel.uniqueid}", getvar))
        call = self._calls.get(channel.linkedid)
        if call is not None:
            out.extend(self._attach(call, group, now, announce=True))
        return out

    def _expect_message(
        self, channel: Channel, path: str, started_at: float | None, now: float
    ) -> None:
        """The dialplan will record a voicemail-style message into ``path``."""
        if not path or self.known_file(path):
            return
        group = Group(channel=channel.uniqueid, origin="message", started_at=started_at)
        self._add_file(group, path, "message")
        channel.running.append(group)
        call = self._calls.get(channel.linkedid)
        if call is not None:
            self._attach(call, group, now, announce=False)

    def _name_keyless(self, channel: Channel, mix: str, now: float) -> list[Output]:
        """A running MixMonitor whose file name we had not learnt yet now has one."""
        if self.known_file(mix):
            return NOTHING
        for group in channel.running:
            if group.origin != "message" and not any(f.leg == "mix" for f in group.files):
                group.stamp = _stamp(mix)
                file = self._add_file(group, mix, "mix")
                call = group.call
                return NOTHING if call is None else [self._started(call, group, file, now)]
        return NOTHING

    # -- calls ------------------------------------------------------------------------

    def _maybe_forget(self, call: Call) -> None:
        if call.ended_at is None or call.pending_files() or call.check_unrecorded_after_scan:
            return
        if self._calls.get(call.call_id) is call:
            del self._calls[call.call_id]
        for uid in call.uids:
            if self._by_uid.get(uid) == call.call_id:
                del self._by_uid[uid]

    def _arm_guard(self, call: Call, at: float) -> None:
        call.guard_at = at
        heapq.heappush(self._guards, (at, call.call_id))

    def _unrecorded(self, call: Call, now: float, why: str) -> list[Output]:
        if call.unrecorded:
            return NOTHING
        call.unrecorded = True
        return [
            Incident(
                kind=IncidentKind.UNRECORDED, at=timestamp(now), call_id=call.call_id, detail=why
            )
        ]
