"""The call tracker: AMI events in, call facts and commands out (pure state machine).

Feed it every message with the time it arrived (``event(message, now)``), the answers
to the actions it asked for (``action_result`` / ``action_failed``), what the disk
showed (``file_closed`` / ``file_missing`` / ``scan_result``), link changes
(``connected`` / ``disconnected``) and the clock (``tick(now)`` at ``next_deadline()``).
Each returns a list of ``hotline.calls`` facts and ``hotline.ami.model`` commands.

How it reads Asterisk (checked against Asterisk 22.10.1 captures):

* A **hotline call** is the ``Linkedid`` of a channel on which the dialplan set
  ``HOTLINE_CALL=1`` (a ``VarSet``, a ``Status`` variable, or our ``HotlineRecording``
  user event). Every leg of the call shares that ``Linkedid``.
* **Answered**: ``Newstate`` to ``ChannelState: 6`` on the hotline channel.
* **A recording starts** with ``MixMonitorStart``, which carries no file name: the
  name is the ``MIXMONITOR_FILENAME`` ``VarSet`` MixMonitor emits just before (else we
  ask with ``Getvar``). Our dialplan announces the ``r()``/``t()`` leg files in
  ``HOTLINE_REC_CALLER``/``HOTLINE_REC_OPERATOR`` before it starts MixMonitor.
* **A recording stops** at ``MixMonitorStop`` (only when ``StopMixMonitor`` ran) or
  silently with its channel's ``Hangup``; its files are then watched until closed.
* **The guarantee**: an answered hotline call with no MixMonitor running
  ``mixmonitor_grace`` seconds after answer (or after its recording stopped while the
  call went on) gets one through the ``MixMonitor`` action; if that fails,
  ``call.unrecorded`` at once. An answered call that ends before any recording started
  is ``call.unrecorded`` too.
* **On (re)connect** it asks ``Status`` with those variables to adopt calls in progress
  and to learn which calls ended while the link was down, then asks for a scan of the
  recordings directory for finished files that no call points to.
"""

from __future__ import annotations

import contextlib
import heapq
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Final

from hotline.ami.completeness import finished_fact, late_start_incident, timestamp
from hotline.ami.message import Message
from hotline.ami.model import (
    Call,
    Channel,
    FileReport,
    Group,
    Output,
    ScanDirectory,
    SendAction,
    TrackerConfig,
)
from hotline.ami.protocol import ActionResult
from hotline.ami.recordings import RecordingName
from hotline.ami.state import NOTHING, UP, TrackerState
from hotline.calls import (
    CallAnswered,
    CallEnded,
    CallStarted,
    Incident,
    IncidentKind,
)

__all__ = ["Tracker", "TrackerConfig"]

_LEG_VARS: Final = {"HOTLINE_REC_CALLER": "caller", "HOTLINE_REC_OPERATOR": "operator"}
_OUTAGE: Final = "ended while the PBX link was down"
_CDR_TIME: Final = "%Y-%m-%d %H:%M:%S"

_Handler = Callable[[Message, float], list[Output]]


def _cdr_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, _CDR_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


class Tracker(TrackerState):
    """Follows every channel the PBX reports and the hotline calls among them."""

    def __init__(self, config: TrackerConfig) -> None:
        super().__init__(config)
        self._link_up = False
        self._adopt_candidates: set[str] = set()
        self._interesting = {
            config.hotline_variable,
            "MIXMONITOR_FILENAME",
            "HOTLINE_MESSAGE",
            "DIALSTATUS",
            "QUEUESTATUS",
            *_LEG_VARS,
        }
        self._handlers: dict[str, _Handler] = {
            "Newchannel": self._on_newchannel,
            "Newstate": self._on_newstate,
            "VarSet": self._on_varset,
            "MixMonitorStart": self._on_mixmonitor_start,
            "MixMonitorStop": self._on_mixmonitor_stop,
            "HangupRequest": self._on_hanging_up,
            "SoftHangupRequest": self._on_hanging_up,
            "Newexten": self._on_newexten,
            "Hangup": self._on_hangup,
            "Rename": self._on_rename,
            "UserEvent": self._on_userevent,
            "Cdr": self._on_cdr,
        }

    # -- inputs -----------------------------------------------------------------------

    def event(self, message: Message, now: float) -> list[Output]:
        handler = self._handlers.get(message.get("event") or "")
        return NOTHING if handler is None else handler(message, now)

    def connected(self, now: float) -> list[Output]:
        """The link is up and logged in: ask what is going on."""
        self._link_up = True
        self._adopt_candidates = set(self._channels)
        names = ",".join(sorted(self._interesting - {"DIALSTATUS", "QUEUESTATUS"}))
        return [SendAction("adopt", Message.action("Status", Variables=names))]

    def disconnected(self, now: float) -> list[Output]:
        self._link_up = False
        return NOTHING

    def action_result(self, tag: str, result: ActionResult, now: float) -> list[Output]:
        kind, _, subject = tag.partition(":")
        if kind == "adopt":
            return self._adopt(result, now) if result.ok else [ScanDirectory()]
        if kind == "mixmon":
            return self._guard_answered(subject, result, now)
        if kind == "getvar":
            channel = self._channels.get(subject)
            value = result.response.get("value") if result.ok else None
            if channel is not None and value and value != "(null)":
                return self._name_keyless(channel, value, now)
        return NOTHING

    def action_failed(self, tag: str, reason: str, now: float) -> list[Output]:
        kind, _, subject = tag.partition(":")
        call = self._calls.get(subject) if kind == "mixmon" else None
        if call is None or call.guard_plan is None:
            return NOTHING
        call.guard_plan = None
        return self._unrecorded(call, now, f"starting MixMonitor failed: {reason}")

    def tick(self, now: float) -> list[Output]:
        out: list[Output] = []
        guards = self._guards
        while guards and guards[0][0] <= now:
            deadline, call_id = heapq.heappop(guards)
            call = self._calls.get(call_id)
            if call is not None and call.guard_at == deadline:
                call.guard_at = None
                out.extend(self._check_guard(call, now))
        return out

    def file_closed(self, key: str, report: FileReport, now: float) -> list[Output]:
        entry = self._files.pop(key, None)
        if entry is None:
            return NOTHING
        group, file = entry
        file.state = "done"
        self._remember_done(key)
        call = group.call
        if call is None:
            return NOTHING
        fact = finished_fact(call, group, file, report, now)
        self._maybe_forget(call)
        late = None if group.late_reported else late_start_incident(call, group, fact)
        if late is None:
            return [fact]
        group.late_reported = True
        return [fact, late]

    def file_missing(self, key: str, reason: str, now: float) -> list[Output]:
        entry = self._files.pop(key, None)
        if entry is None:
            return NOTHING
        group, file = entry
        file.state = "done"
        call = group.call
        if call is None:
            return NOTHING
        self._maybe_forget(call)
        if group.origin == "message":
            return NOTHING  # the caller hung up before leaving a message
        self.missing += 1
        detail = f"recording {key} ({file.leg}) cannot be picked up: {reason}"
        return [
            Incident(
                kind=IncidentKind.INCOMPLETE, at=timestamp(now), call_id=call.call_id, detail=detail
            )
        ]

    def scan_result(self, found: Iterable[FileReport], now: float) -> list[Output]:
        """Finished files in the recordings directory (already filtered for age and for
        files sealed before): attach each to its known call, or report an orphan."""
        out: list[Output] = []
        for report in found if self._paths is not None else ():
            assert self._paths is not None
            key = self._paths.to_pbx(report.name)
            if self.known_file(key):
                continue
            parsed = RecordingName.parse(report.name)
            uid = parsed.uniqueid if parsed is not None else ""
            call = self._calls.get(self._by_uid.get(uid, uid)) if uid else None
            if call is None:
                call_id = uid or f"orphan:{report.name}"
                call = Call(call_id, started_at=report.mtime, orphan=True, ended_at=now)
                self._calls[call_id] = call
                detail = f"recording {report.name} is not pointed to by any known call"
                out.append(
                    Incident(
                        kind=IncidentKind.ORPHANED,
                        at=timestamp(now),
                        call_id=call_id,
                        detail=detail,
                    )
                )
            leg = parsed.leg if parsed is not None else "mix"
            origin = "orphan" if call.orphan else ("message" if leg == "message" else "found")
            group = Group(channel=uid, origin=origin, started_at=None)
            group.stamp = parsed.stamp if parsed is not None else None
            self._add_file(group, key, leg)
            self._attach(call, group, now, announce=False)
            channel = self._channels.get(uid) if call.ended_at is None else None
            if channel is not None:
                channel.running.append(group)  # watched when its channel hangs up
            else:
                out.extend(self._stop_group(group, None))
        for call in list(self._calls.values()):
            if call.check_unrecorded_after_scan:
                call.check_unrecorded_after_scan = False
                if not call.has_recording():
                    out.extend(self._unrecorded(call, now, f"answered call {_OUTAGE}"))
                self._maybe_forget(call)
        return out

    # -- events -----------------------------------------------------------------------

    def _on_newchannel(self, m: Message, now: float) -> list[Output]:
        self._channel(m, now)
        return NOTHING

    def _on_newstate(self, m: Message, now: float) -> list[Output]:
        channel = self._channel(m, now)
        if channel is None or m.get("channelstate") != UP or channel.answered_at is not None:
            return NOTHING
        channel.answered_at = now
        call = self._calls.get(channel.linkedid) if channel.hotline else None
        return NOTHING if call is None else self._answered(call, now, now)

    def _on_varset(self, m: Message, now: float) -> list[Output]:
        variable = m.get("variable")
        if variable not in self._interesting:
            return NOTHING
        channel = self._channel(m, now)
        if channel is None:
            return NOTHING
        value = m.get("value") or ""
        if variable == self.config.hotline_variable:
            if value == self.config.hotline_value and not channel.hotline:
                return self._mark_hotline(channel, now)
        elif variable == "MIXMONITOR_FILENAME":
            channel.mixmon_file = value or None
        elif variable in _LEG_VARS:
            if value:
                legs = channel.leg_files if channel.leg_files is not None else {}
                legs[_LEG_VARS[variable]] = value
                channel.leg_files = legs
        elif variable == "HOTLINE_MESSAGE":
            self._expect_message(channel, value, now, now)
        elif value and channel.hotline:
            call = self._calls.get(channel.linkedid)
            if call is not None:
                call.dial_status = value
        return NOTHING

    def _on_mixmonitor_start(self, m: Message, now: float) -> list[Output]:
        channel = self._channel(m, now)
        if channel is None:
            return NOTHING
        mix, channel.mixmon_file = channel.mixmon_file, None
        legs, channel.leg_files = channel.leg_files or {}, None
        if mix is not None and self.known_file(mix):
            return NOTHING  # ours: registered when the MixMonitor action succeeded
        call = self._calls.get(channel.linkedid)
        if call is not None and call.guard_plan is not None and mix == call.guard_plan[0]:
            # Ours, before the action's answer: its legs are the ones we asked for, not
            # files the dialplan announced for a MixMonitor it never ran.
            return self._start_group(channel, mix, dict(call.guard_plan[1]), "hotline", now, now)
        return self._start_group(channel, mix, legs, "dialplan", now, now)

    def _on_mixmonitor_stop(self, m: Message, now: float) -> list[Output]:
        channel = self._channel(m, now)
        running = [g for g in channel.running if g.origin != "message"] if channel else []
        if channel is None or not running:
            return NOTHING
        # The event does not say which MixMonitor stopped; StopMixMonitor without an
        # id stops the latest.
        group = running[-1]
        channel.running.remove(group)
        out = self._stop_group(group, now)
        call = group.call
        goes_on = call is not None and call.ended_at is None and not channel.hanging_up
        if call is not None and goes_on and not call.running_groups():
            self._arm_guard(call, now + self.config.mixmonitor_grace)  # restart it
        return out

    def _on_hanging_up(self, m: Message, now: float) -> list[Output]:
        channel = self._channels.get(m.get("uniqueid") or "")
        if channel is not None:
            channel.hanging_up = True
        return NOTHING

    def _on_newexten(self, m: Message, now: float) -> list[Output]:
        return self._on_hanging_up(m, now) if m.get("exten") == "h" else NOTHING

    def _on_rename(self, m: Message, now: float) -> list[Output]:
        channel = self._channels.get(m.get("uniqueid") or "")
        if channel is not None and m.get("newname"):
            channel.name = m["newname"]
        return NOTHING

    def _on_userevent(self, m: Message, now: float) -> list[Output]:
        if m.get("userevent") != "HotlineRecording":
            return NOTHING
        channel = self._channel(m, now)
        if channel is None:
            return NOTHING
        out: list[Output] = []
        if m.get("hotlinecall") == self.config.hotline_value and not channel.hotline:
            out.extend(self._mark_hotline(channel, now))
        mix = m.get("recordingfile")
        if mix:
            out.extend(self._name_keyless(channel, mix, now))
        return out

    def _on_cdr(self, m: Message, now: float) -> list[Output]:
        call = self._calls.get(self._by_uid.get(m.get("uniqueid") or "", ""))
        if call is None:
            return NOTHING
        answer, end = _cdr_time(m.get("answertime")), _cdr_time(m.get("endtime"))
        if answer is not None and (call.cdr_answer is None or answer < call.cdr_answer):
            call.cdr_answer = answer
        if end is not None and (call.cdr_end is None or end > call.cdr_end):
            call.cdr_end = end
        with contextlib.suppress(ValueError):
            call.cdr_billsec += int(m.get("billableseconds") or 0)
        call.cdr_disposition = m.get("disposition") or call.cdr_disposition
        return NOTHING

    def _on_hangup(self, m: Message, now: float) -> list[Output]:
        cause = m.get("cause-txt") or m.get("cause") or ""
        return self._hangup(m.get("uniqueid") or "", now, cause, outage=False)

    # -- what events mean -------------------------------------------------------------

    def _hangup(self, uid: str, now: float, cause: str, *, outage: bool) -> list[Output]:
        channel = self._drop_channel(uid)
        if channel is None:
            return NOTHING
        out: list[Output] = []
        for group in channel.running:
            out.extend(self._stop_group(group, None if outage else now))
        channel.running.clear()
        call = self._calls.get(channel.linkedid)
        if call is None or uid not in call.live:
            return out
        call.live.discard(uid)
        call.hangup_cause = cause
        if call.live:
            return out
        call.ended_at = now
        call.ended_in_outage = outage
        answered = call.answered_at is not None
        out.append(
            CallEnded(call_id=call.call_id, at=timestamp(now), answered=answered, cause=cause)
        )
        if answered and not call.has_recording():
            if outage:
                call.check_unrecorded_after_scan = True  # the scan may still find its file
            else:
                held = now - (call.answered_at or now)
                why = f"answered call ended after {held:.1f} s with no recording"
                out.extend(self._unrecorded(call, now, why))
        self._maybe_forget(call)
        return out

    def _mark_hotline(self, channel: Channel, now: float) -> list[Output]:
        channel.hotline = True
        out: list[Output] = []
        call = self._calls.get(channel.linkedid)
        if call is None:
            call = Call(
                channel.linkedid,
                started_at=channel.created_at,
                caller=channel.caller,
                caller_name=channel.caller_name,
                callee=channel.exten,
            )
            self._calls[call.call_id] = call
            out.append(
                CallStarted(
                    call_id=call.call_id,
                    source=self.config.source,
                    at=timestamp(channel.created_at),
                    caller=channel.caller,
                    callee=channel.exten,
                    caller_name=channel.caller_name,
                )
            )
        call.live.add(channel.uniqueid)
        call.uids.add(channel.uniqueid)
        self._by_uid[channel.uniqueid] = call.call_id
        for uid in self._by_linkedid.get(channel.linkedid, ()):
            for group in self._channels[uid].running:
                if group.call is None:
                    out.extend(self._attach(call, group, now, announce=group.origin != "message"))
        if channel.answered_at is not None:
            out.extend(self._answered(call, channel.answered_at, now))
        return out

    def _answered(self, call: Call, at: float, now: float) -> list[Output]:
        if call.answered_at is not None:
            return NOTHING
        call.answered_at = at
        if not call.running_groups():
            self._arm_guard(call, max(at + self.config.mixmonitor_grace, now))
        return [CallAnswered(call_id=call.call_id, at=timestamp(at))]

    # -- the recording guarantee -------------------------------------------------------

    def _check_guard(self, call: Call, now: float) -> list[Output]:
        if call.ended_at is not None or call.answered_at is None or call.guard_plan is not None:
            return NOTHING
        if call.running_groups() or not self._link_up:
            return NOTHING  # recording, or the link is down: adoption re-arms the guard
        channel = self._live_channel(call)
        if channel is None or channel.hanging_up:
            return NOTHING
        call.guard_count += 1
        tag = f"h{call.guard_count}"
        pbx = self.config.pbx_recordings_dir
        mix = str(pbx / RecordingName.build(channel.uniqueid, now, tag=tag))
        legs: dict[str, str] = {}
        options = ""
        if self.config.mixmonitor_legs:
            for leg, flag in (("caller", "r"), ("operator", "t")):
                legs[leg] = str(pbx / RecordingName.build(channel.uniqueid, now, tag=tag, leg=leg))
                options += f"{flag}({legs[leg]})"
        call.guard_plan = (mix, legs)
        headers = {"Channel": channel.name, "File": mix}
        if options:
            headers["Options"] = options
        return [SendAction(f"mixmon:{call.call_id}", Message.action("MixMonitor", **headers))]

    def _guard_answered(self, call_id: str, result: ActionResult, now: float) -> list[Output]:
        call = self._calls.get(call_id)
        if call is None or call.guard_plan is None:
            return NOTHING
        mix, legs = call.guard_plan
        call.guard_plan = None
        if not result.ok:
            return self._unrecorded(call, now, f"starting MixMonitor failed: {result.message}")
        entry = self._files.get(mix)
        if entry is not None:
            # MixMonitorStart came before the answer and registered the mix: add legs.
            group = entry[0]
            group.origin = "hotline"
            return [
                self._started(call, group, self._add_file(group, path, leg), now)
                for leg, path in legs.items()
                if not self.known_file(path)
            ]
        channel = self._live_channel(call)
        if channel is None:
            return NOTHING
        return self._start_group(channel, mix, legs, "hotline", now, now)

    # -- adoption ---------------------------------------------------------------------

    def _adopt(self, result: ActionResult, now: float) -> list[Output]:
        out: list[Output] = []
        seen: set[str] = set()
        for m in result.items:
            uid = m.get("uniqueid")
            if uid:
                seen.add(uid)
                out.extend(self._adopt_channel(m, uid, now))
        for uid in self._adopt_candidates - seen:
            out.extend(self._hangup(uid, now, _OUTAGE, outage=True))
        self._adopt_candidates = set()
        out.append(ScanDirectory())
        return out

    def _adopt_channel(self, m: Message, uid: str, now: float) -> list[Output]:
        out: list[Output] = []
        channel = self._channels.get(uid)
        if channel is None:
            channel = self._new_channel(m, uid, now)
            with contextlib.suppress(ValueError):
                channel.created_at = now - float(m.get("seconds") or 0)
            if channel.answered_at is not None:
                channel.answered_at = channel.created_at  # not known better: estimate
        elif m.get("channelstate") == UP and channel.answered_at is None:
            channel.answered_at = now
        variables = m.variables()
        hotline = variables.get(self.config.hotline_variable) == self.config.hotline_value
        if hotline and not channel.hotline:
            out.extend(self._mark_hotline(channel, now))
            call = self._calls.get(channel.linkedid)
            if call is not None and call.answered_at == channel.created_at:
                call.answer_estimated = True
        elif channel.hotline and channel.answered_at is not None:
            call = self._calls.get(channel.linkedid)
            if call is not None and call.answered_at is None:  # answered while we were away
                out.extend(self._answered(call, channel.answered_at, now))
                call.answer_estimated = True
        mix = variables.get("MIXMONITOR_FILENAME")
        if mix and not self.known_file(mix):
            legs = {leg: variables[name] for name, leg in _LEG_VARS.items() if name in variables}
            out.extend(self._start_group(channel, mix, legs, "adopted", None, now))
        self._expect_message(channel, variables.get("HOTLINE_MESSAGE", ""), None, now)
        call = self._calls.get(channel.linkedid) if channel.hotline else None
        if call is not None and call.answered_at is not None and not call.running_groups():
            self._arm_guard(call, max(call.answered_at + self.config.mixmonitor_grace, now))
        return out
