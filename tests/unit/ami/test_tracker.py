"""The call tracker fed the captured Asterisk events, with the capture's own times."""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath

import pytest

from hotline.ami.message import Message
from hotline.ami.model import FileReport, Output, ScanDirectory, SendAction, WatchFile
from hotline.ami.protocol import ActionResult
from hotline.ami.recordings import WavHeader
from hotline.ami.tracker import Tracker, TrackerConfig
from hotline.calls import (
    CallAnswered,
    CallEnded,
    CallStarted,
    Incident,
    IncidentKind,
    RecordingFinished,
    RecordingStarted,
)
from tests.support.ami_captures import action_results, events, wav_header

T0 = 1_795_824_713.0
MONITOR = "/var/spool/asterisk/monitor"
ANSWERED_REC = f"{MONITOR}/hotline-20261128-001159-1795824714.0.wav"


class Replay:
    """Drives a tracker through captured events, firing its timers on time."""

    def __init__(self, tmp: Path, **config: object) -> None:
        settings = {"recordings_dir": tmp, "mixmonitor_grace": 10.0, **config}
        self.tracker = Tracker(TrackerConfig(**settings))  # type: ignore[arg-type]
        self.out: list[Output] = []
        self.now = T0
        # Logged in before the capture's first call: Status lists no channel.
        self.tracker.connected(T0)
        self.tracker.action_result("adopt", action_results("actions")["lab-008"], T0)
        self.tracker.scan_result([], T0)

    def at(self, t: float) -> None:
        target = T0 + t
        while (deadline := self.tracker.next_deadline()) is not None and deadline <= target:
            self.now = deadline
            self.out += self.tracker.tick(deadline)
        self.now = max(self.now, target)

    def play(self, name: str, start: float = 0.0, end: float = math.inf) -> None:
        for t, message in events(name, start, end):
            self.at(t)
            self.out += self.tracker.event(message, T0 + t)
        if end != math.inf:
            self.at(end)

    def take(self) -> list[Output]:
        out, self.out = self.out, []
        return out

    def close(self, watch: WatchFile, seconds: float, t: float) -> list[Output]:
        data = round(seconds * 8000) * 2
        header = WavHeader.parse(wav_header(data))
        report = FileReport(watch.path.name, watch.path, 44 + data, T0 + t, header, True)
        return self.tracker.file_closed(watch.key, report, T0 + t)


def of(kind: type, outputs: list[Output]) -> list:  # type: ignore[type-arg]
    return [o for o in outputs if isinstance(o, kind)]


def test_answered_call(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("answered-call")
    out = replay.take()
    started, answered, recording, ended = (
        of(CallStarted, out),
        of(CallAnswered, out),
        of(RecordingStarted, out),
        of(CallEnded, out),
    )
    assert started == [
        CallStarted(
            call_id="1795824714.0",
            source="asterisk",
            at=started[0].at,
            caller="caller",
            callee="12345",
            caller_name="Alex Smith",
        )
    ]
    assert started[0].at.timestamp() == pytest.approx(T0 + 0.897, abs=0.01)
    assert answered[0].at.timestamp() == pytest.approx(T0 + 0.898, abs=0.01)
    assert [(r.name, r.leg) for r in recording] == [(ANSWERED_REC, "mix")]
    assert recording[0].at.timestamp() == pytest.approx(T0 + 6.149, abs=0.01)
    assert ended[0].answered and ended[0].cause == "Normal Clearing"
    assert not of(Incident, out) and not of(SendAction, out)
    (watch,) = of(WatchFile, out)
    assert watch.key == ANSWERED_REC
    assert watch.path == tmp_path / "hotline-20261128-001159-1795824714.0.wav"

    # The lab dialplan plays the notice before MixMonitor: the recording began late,
    # and says so in an incident right after the file that opens the case.
    finished, late = replay.close(watch, 27.58, 34.4)
    assert isinstance(finished, RecordingFinished) and isinstance(late, Incident)
    assert late.kind is IncidentKind.INCOMPLETE and late.call_id == "1795824714.0"
    assert late.detail == (
        "the recording began 5.25 s after answer (hotline-20261128-001159-1795824714.0.wav): "
        "the call's first 5.25 s and the recording notice are not in the evidence"
    )
    assert finished.call_id == "1795824714.0" and finished.leg == "mix"
    assert finished.sequence == 0 and finished.path == watch.path
    # From MixMonitorStart (6.149) to the caller's Hangup (34.052).
    assert finished.expected_duration == pytest.approx(27.90, abs=0.01)
    details = finished.details
    assert details["basis"] == "events"
    assert float(details["late_start_seconds"]) == pytest.approx(5.25, abs=0.01)
    assert details["notice_recorded"] == "no"
    assert details["cdr_billsec"] == "33" and details["cdr_disposition"] == "ANSWERED"
    assert details["dial_status"] == "ANSWER" and details["wav_seconds"] == "27.580"
    assert replay.tracker.calls_tracked == 0 and replay.tracker.files_pending == 0


def test_the_guarantee_starts_mixmonitor_when_the_dialplan_does_not(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=3.0)
    replay.play("answered-call", end=6.0)
    (send,) = of(SendAction, replay.take())
    assert send.tag == "mixmon:1795824714.0"
    action = send.action
    assert action.action_name == "MixMonitor" and action["Channel"] == "PJSIP/caller-00000000"
    assert action["File"].startswith(f"{MONITOR}/hotline-")
    assert action["File"].endswith("-1795824714.0-h1.wav")
    assert action["Options"] == (
        f"r({action['File'][:-4]}-caller.wav)t({action['File'][:-4]}-operator.wav)"
    )


def test_abandoned_during_the_notice_is_unrecorded(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=3.0)
    replay.play("abandoned-during-notice")
    out = replay.take()
    (incident,) = of(Incident, out)
    assert incident.kind is IncidentKind.UNRECORDED
    assert incident.call_id == "1795824753.2"
    assert "ended after 2.5 s with no recording" in incident.detail
    (ended,) = of(CallEnded, out)
    assert ended.answered and not of(WatchFile, out)


def failed(message: str) -> ActionResult:
    response = Message([("Response", "Error"), ("ActionID", "x"), ("Message", message)])
    return ActionResult("x", "MixMonitor", response)


def test_a_failed_mixmonitor_action_raises_unrecorded_at_once(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=1.0)
    replay.play("abandoned-during-notice", end=2.0)
    (send,) = of(SendAction, replay.take())
    out = replay.tracker.action_result(send.tag, failed("No such channel"), T0 + 1.9)
    (incident,) = of(Incident, out)
    assert incident.kind is IncidentKind.UNRECORDED
    assert incident.detail == "starting MixMonitor failed: No such channel"
    replay.play("abandoned-during-notice", start=2.0)
    assert not of(Incident, replay.take())  # raised once per call


def test_a_mixmonitor_action_without_answer_is_unrecorded(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=1.0)
    replay.play("abandoned-during-notice", end=2.0)
    (send,) = of(SendAction, replay.take())
    out = replay.tracker.action_failed(send.tag, "no answer within 5 s", T0 + 1.9)
    assert of(Incident, out)[0].detail == "starting MixMonitor failed: no answer within 5 s"


def test_our_mixmonitor_is_picked_up_with_its_legs(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=1.0)
    replay.play("abandoned-during-notice", end=2.0)
    (send,) = of(SendAction, replay.take())
    ok = Message([("Response", "Success"), ("ActionID", "x")])
    out = replay.tracker.action_result(send.tag, ActionResult("x", "MixMonitor", ok), T0 + 1.8)
    legs = {r.leg: r.name for r in of(RecordingStarted, out)}
    assert legs["mix"] == send.action["File"] and set(legs) == {"mix", "caller", "operator"}
    replay.play("abandoned-during-notice", start=2.0)
    out = replay.take()
    assert not of(Incident, out)
    watches = of(WatchFile, out)
    assert sorted(w.key for w in watches) == sorted(legs.values())
    closed = [replay.close(w, 1.4, 3.6) for w in watches]
    finished = [c[0] for c in closed]
    # hotline started it (at 1.8, answered at 0.75): said once, after the first file.
    (late,) = [o for c in closed for o in c[1:]]
    assert isinstance(late, Incident) and late.kind is IncidentKind.INCOMPLETE
    assert late.detail.startswith(
        "the dialplan started no recording; hotline started MixMonitor 1.05 s after answer"
    )
    for fact in finished:
        assert isinstance(fact, RecordingFinished)
        assert fact.details["origin"] == "hotline"
        # From our MixMonitor (1.8) to the Hangup (3.257).
        assert fact.expected_duration == pytest.approx(1.457, abs=0.01)


def test_abandoned_while_ringing(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("abandoned-while-ringing")
    out = replay.take()
    (ended,) = of(CallEnded, out)
    assert ended.answered and ended.cause == "Unknown"
    (watch,) = of(WatchFile, out)
    finished, late = replay.close(watch, 4.76, 11.0)
    assert isinstance(late, Incident) and "5.25 s after answer" in late.detail
    assert finished.expected_duration == pytest.approx(4.766, abs=0.01)
    assert finished.details["dial_status"] == "CANCEL"
    assert finished.details["cdr_disposition"] == "NO ANSWER"


def test_no_answer_fallback_message_is_a_recording_too(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("operator-noanswer-record")
    out = replay.take()
    watches = {w.key: w for w in of(WatchFile, out)}
    message = f"{MONITOR}/hotline-message-1795824776.5.wav"
    mix = f"{MONITOR}/hotline-20261128-001301-1795824776.5.wav"
    assert set(watches) == {mix, message}
    mixed, late = replay.close(watches[mix], 41.58, 48.5)
    (left,) = replay.close(watches[message], 20.5, 48.5)
    assert isinstance(late, Incident) and late.kind is IncidentKind.INCOMPLETE
    assert mixed.expected_duration == pytest.approx(47.914 - 6.017, abs=0.01)
    assert mixed.details["cdr_billsec"] == "46"  # two Cdr events: 20 + 26
    assert mixed.details["dial_status"] == "NOANSWER"
    assert left.leg == "message" and left.expected_duration is None
    assert left.sequence == 1


def test_stopmixmonitor_in_the_h_extension_does_not_restart(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=1.0)
    replay.play("answered-call-stopmixmonitor", start=6.0)  # after the guard would fire
    out = replay.take()
    assert not of(SendAction, out)
    (watch,) = of(WatchFile, out)
    (finished,) = replay.close(watch, 27.58, 34.5)
    # Stopped by MixMonitorStop (34.024), not by the Hangup (34.025).
    assert finished.expected_duration == pytest.approx(34.024 - 6.125, abs=0.005)


def test_the_actions_capture_has_no_hotline_call(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("actions")
    assert replay.take() == []
    assert replay.tracker.channels_tracked == 0


def test_calls_are_identified_by_the_dialplan_not_by_the_extension(tmp_path: Path) -> None:
    replay = Replay(tmp_path, hotline_variable="SOMETHING_ELSE")
    replay.play("abandoned-during-notice")  # dialled 12345, but no SOMETHING_ELSE=1
    assert replay.take() == []
    # The lab dialplan's HotlineRecording user event (HotlineCall: 1) also says it.
    replay.play("answered-call")
    assert of(CallStarted, replay.take())


def status_result(name: str, lab_id: str) -> ActionResult:
    return action_results(name)[lab_id]


def test_restart_mid_call_adopts_the_call(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.tracker = Tracker(replay.tracker.config)  # a fresh process, mid-call
    replay.at(9.66)
    (send,) = replay.tracker.connected(T0 + 9.66)
    assert isinstance(send, SendAction) and send.action.action_name == "Status"
    assert "MIXMONITOR_FILENAME" in send.action["Variables"]
    out = replay.tracker.action_result(
        "adopt", status_result("answered-call", "lab-004"), T0 + 9.66
    )
    (started,) = of(CallStarted, out)
    assert started.call_id == "1795824714.0" and started.caller == "caller"
    assert started.at.timestamp() == pytest.approx(T0 + 9.66 - 8, abs=0.01)  # Seconds: 8
    assert of(CallAnswered, out) and of(ScanDirectory, out)
    assert [r.name for r in of(RecordingStarted, out)] == [ANSWERED_REC]
    assert replay.tracker.scan_result([], T0 + 9.7) == []
    replay.play("answered-call", start=9.67)
    out = replay.take()
    (watch,) = of(WatchFile, out)
    finished, late = replay.close(watch, 27.58, 34.4)
    # Read from whole seconds (the file name's stamp, the Cdr): still clearly late.
    assert isinstance(late, Incident) and "5.00 s after answer" in late.detail
    # Cdr answered 00:11:54 → ended 00:12:27; the file name says recording began 00:11:59.
    assert finished.details["basis"] == "cdr"
    assert finished.expected_duration == pytest.approx(28.0)
    assert finished.details["late_start_seconds"] == "5.000"
    assert finished.details["origin"] == "adopted"


def test_reconnect_mid_call_keeps_the_call(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("answered-call", end=12.0)
    first = replay.take()
    replay.tracker.disconnected(T0 + 12.0)
    replay.tracker.connected(T0 + 14.0)
    out = replay.tracker.action_result("adopt", status_result("answered-call", "lab-004"), T0 + 14)
    assert [type(o) for o in out] == [ScanDirectory]  # nothing new, nothing lost
    replay.play("answered-call", start=14.0)
    out = replay.take()
    assert len(of(CallStarted, first)) == 1 and not of(CallStarted, out)
    (watch,) = of(WatchFile, out)
    finished, late = replay.close(watch, 27.58, 34.4)
    assert isinstance(late, Incident)  # the lab dialplan's late start, once
    assert finished.details["basis"] == "events"
    assert finished.expected_duration == pytest.approx(27.90, abs=0.01)


def test_a_call_that_ended_during_an_outage_is_still_picked_up(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("answered-call", end=12.0)
    replay.take()
    replay.tracker.disconnected(T0 + 12.0)
    replay.tracker.connected(T0 + 40.0)
    empty = status_result("actions", "lab-008")  # Status with no channel at all
    out = replay.tracker.action_result("adopt", empty, T0 + 40.0)
    (ended,) = of(CallEnded, out)
    assert ended.cause == "ended while the PBX link was down"
    (watch,) = of(WatchFile, out)
    finished, late = replay.close(watch, 27.58, 40.5)
    assert isinstance(late, Incident) and "5.25 s after answer" in late.detail
    assert finished.expected_duration is None
    assert finished.details["ended_while_disconnected"] == "yes"


def test_an_unrecorded_call_that_ended_during_an_outage(tmp_path: Path) -> None:
    replay = Replay(tmp_path, mixmonitor_grace=3.0)
    replay.play("abandoned-during-notice", end=2.0)
    replay.tracker.disconnected(T0 + 2.0)
    replay.tracker.connected(T0 + 9.0)
    out = replay.tracker.action_result("adopt", status_result("actions", "lab-008"), T0 + 9)
    assert of(CallEnded, out) and not of(Incident, out)  # the scan may still find a file
    (incident,) = replay.tracker.scan_result([], T0 + 9.1)
    assert isinstance(incident, Incident) and incident.kind is IncidentKind.UNRECORDED


def test_orphaned_file_becomes_a_recording(tmp_path: Path) -> None:
    tracker = Tracker(TrackerConfig(recordings_dir=tmp_path))
    name = "hotline-20261128-001245-1795824760.3.wav"
    header = WavHeader.parse(wav_header(76160))
    report = FileReport(name, tmp_path / name, 76204, T0, header, True)
    out = tracker.scan_result([report], T0 + 100)
    incident, watch = out
    assert isinstance(incident, Incident) and incident.kind is IncidentKind.ORPHANED
    assert incident.call_id == "1795824760.3"
    assert isinstance(watch, WatchFile) and watch.key == f"{MONITOR}/{name}"
    (finished,) = tracker.file_closed(watch.key, report, T0 + 101)
    assert isinstance(finished, RecordingFinished)
    assert finished.call_id == "1795824760.3" and finished.expected_duration is None
    assert finished.started_at.isoformat() == "2026-11-28T00:12:45+00:00"
    assert tracker.scan_result([report], T0 + 200) == []  # not offered twice


def rebrand(message: Message, source: Message) -> Message:
    """``message`` re-targeted at ``source``'s channel (same snapshot headers)."""
    for key in ("Channel", "Uniqueid", "Linkedid", "ChannelState", "ChannelStateDesc"):
        message = message.with_header(key, source[key])
    return message


def test_a_recording_split_mid_call_is_grouped_in_order(tmp_path: Path) -> None:
    """A transfer that stops MixMonitor while the caller stays on the line (no capture
    has one: built from captured messages)."""
    replay = Replay(tmp_path, mixmonitor_grace=6.0)
    replay.play("answered-call", end=12.0)
    replay.take()
    caller = next(m for _, m in events("answered-call") if m.event == "Newchannel")
    stop = next(m for _, m in events("answered-call-stopmixmonitor") if m.event == "MixMonitorStop")
    out = replay.tracker.event(rebrand(stop, caller), T0 + 12.0)
    (first_watch,) = of(WatchFile, out)
    replay.at(18.05)
    (send,) = of(SendAction, replay.take())
    ok = Message([("Response", "Success"), ("ActionID", "x")])
    out = replay.tracker.action_result(send.tag, ActionResult("x", "MixMonitor", ok), T0 + 18.1)
    assert {r.leg for r in of(RecordingStarted, out)} == {"mix", "caller", "operator"}
    replay.play("answered-call", start=18.0)
    second = of(WatchFile, replay.take())
    assert len(second) == 3 and send.action["File"] in {w.key for w in second}
    one, late = replay.close(first_watch, 5.8, 12.5)
    assert isinstance(late, Incident) and "5.25 s after answer" in late.detail
    two = [f for w in second for f in replay.close(w, 15.9, 34.5)]
    assert all(isinstance(f, RecordingFinished) for f in two)  # resumed: no late start
    assert one.sequence == 0 and one.expected_duration == pytest.approx(12.0 - 6.149, abs=0.01)
    assert {f.sequence for f in two} == {1}
    assert all(f.call_id == one.call_id for f in two)
    assert two[0].expected_duration == pytest.approx(34.052 - 18.1, abs=0.01)


def test_dual_leg_recording_of_the_shipped_dialplan(tmp_path: Path) -> None:
    """Our dialplan names the r()/t() legs in variables before MixMonitor starts."""
    replay = Replay(tmp_path)
    replay.play("answered-call", end=6.148)
    varset = next(
        m
        for t, m in events("answered-call")
        if m.event == "VarSet" and m["Variable"] == "HOTLINE_REC"
    )
    base = ANSWERED_REC[:-4]
    for name, leg in (("HOTLINE_REC_CALLER", "caller"), ("HOTLINE_REC_OPERATOR", "operator")):
        legged = varset.with_header("Variable", name).with_header("Value", f"{base}-{leg}.wav")
        replay.out += replay.tracker.event(legged, T0 + 6.148)
    replay.play("answered-call", start=6.148)
    out = replay.take()
    assert {(r.leg, r.name) for r in of(RecordingStarted, out)} == {
        ("mix", ANSWERED_REC),
        ("caller", f"{base}-caller.wav"),
        ("operator", f"{base}-operator.wav"),
    }
    assert len(of(WatchFile, out)) == 3


def test_a_recording_outside_the_shared_directory_is_reported(tmp_path: Path) -> None:
    replay = Replay(tmp_path, pbx_recordings_dir=PurePosixPath("/srv/recordings"))
    replay.play("answered-call")
    out = replay.take()
    assert not of(WatchFile, out)
    (incident,) = of(Incident, out)
    assert incident.kind is IncidentKind.INCOMPLETE and "outside" in incident.detail
    assert replay.tracker.calls_tracked == 0


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    replay = Replay(tmp_path)
    replay.play("answered-call")
    (watch,) = of(WatchFile, replay.take())
    (incident,) = replay.tracker.file_missing(watch.key, "never appeared", T0 + 70)
    assert isinstance(incident, Incident) and incident.kind is IncidentKind.INCOMPLETE
    assert replay.tracker.calls_tracked == 0


def test_names_the_dialplan_announced_but_never_recorded_are_not_watched(
    tmp_path: Path,
) -> None:
    """The project dialplan without its MixMonitor line (series 2, no-mixmonitor) still
    announces three files. hotline's own MixMonitor, even when its start event comes
    before the action's answer, records under hotline's names only."""
    name = "project-dialplan/no-mixmonitor"
    replay = Replay(tmp_path, mixmonitor_grace=3.0)
    captured = events(name)
    # Leave out what the capture client's own MixMonitor action caused: hotline's comes.
    lab = [
        (t, m)
        for t, m in captured
        if m.event == "MixMonitorStart"
        or (m.event == "VarSet" and m.get("variable") == "MIXMONITOR_FILENAME")
    ]
    (_, varset), (_, start) = lab
    answered = next(
        t for t, m in captured if m.event == "Newstate" and m["Uniqueid"] == start["Uniqueid"]
    )
    for t, message in captured:
        if (t, message) in lab:
            continue
        replay.at(t)
        replay.out += replay.tracker.event(message, T0 + t)
        if t >= answered + 3.0:
            break
    replay.at(answered + 3.0)
    (send,) = of(SendAction, replay.take())
    ours = send.action["File"]
    # Asterisk's events for our action, before its answer.
    now = T0 + answered + 3.01
    replay.out += replay.tracker.event(varset.with_header("Value", ours), now)
    replay.out += replay.tracker.event(start, now)
    ok = Message([("Response", "Success"), ("ActionID", "x")])
    replay.out += replay.tracker.action_result(send.tag, ActionResult("x", "MixMonitor", ok), now)
    for t, message in captured:
        if t > answered + 3.0 and (t, message) not in lab:
            replay.at(t)
            replay.out += replay.tracker.event(message, T0 + t)
    out = replay.take()
    stem = ours[:-4]
    watched = {w.key for w in of(WatchFile, out)}
    assert watched == {ours, f"{stem}-caller.wav", f"{stem}-operator.wav"}
    assert {r.name for r in of(RecordingStarted, out)} == watched
    assert not of(Incident, out)
