"""What a finished recording should have covered (pure).

``finished_fact`` builds the ``RecordingFinished`` fact for one closed file. Its
``expected_duration`` is the span the recording should cover, so that the intake's
completeness check (``recording.incomplete`` when the WAV is shorter by more than the
tolerance) flags files cut short, not dialplans that start recording late:

1. the recording's own start and stop were both seen (``MixMonitorStart`` /
   our ``MixMonitor`` answer, then ``MixMonitorStop`` or the channel's ``Hangup``):
   their distance (``details["basis"] = "events"``);
2. otherwise, for a call's first recording (adopted after a reconnect or a restart),
   the ``Cdr`` events' answered span (earliest ``AnswerTime`` to latest ``EndTime``;
   a no-answer + ``Record()`` call gets two ``Cdr`` events) less the time from answer
   to the recording's start, read from the timestamp in its file name
   (``basis = "cdr"``);
3. otherwise ``None`` (``basis = "none"``): ended while the link was down, orphans,
   voicemail-style messages.

``details["late_start_seconds"]`` is the time from answer to the recording's start
(5.25 s in the captured lab dialplan, which plays the notice first;
``notice_recorded = "no"`` then), so the late start stays visible without being
mistaken for a truncated file.

``late_start_incident`` turns a call's first recording that began a second or more after
answer into a ``recording.incomplete`` incident of its own, raised right after that
recording's first file is reported (so the case it opens carries it): the call's first
seconds and the recording notice are not in the evidence (art. 9, 11), whether the
dialplan started MixMonitor late or hotline had to start it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePosixPath

from hotline.ami.model import Call, File, FileReport, Group
from hotline.calls import Incident, IncidentKind, RecordingFinished

__all__ = ["finished_fact", "late_start_incident", "timestamp"]

_NOTICE_RECORDED_WITHIN = 1.0
"""A recording that starts this soon after answer holds the recording notice."""
_WHOLE_SECONDS_SLACK = 1.0
"""A late start read from a file name's stamp and a ``Cdr`` time (both whole seconds)
may be off by this much."""


def timestamp(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _late_start(call: Call, group: Group) -> float | None:
    if group.started_at is not None:
        if call.answered_at is None or call.answer_estimated:
            return None
        return max(group.started_at - call.answered_at, 0.0)
    if group.stamp is not None and call.cdr_answer is not None:
        return max((group.stamp - call.cdr_answer).total_seconds(), 0.0)
    return None


def _expected(call: Call, group: Group, late: float | None) -> tuple[float | None, str]:
    if group.origin in ("message", "orphan"):
        return None, "none"
    if group.started_at is not None and group.stopped_at is not None:
        return max(group.stopped_at - group.started_at, 0.0), "events"
    if call.cdr_answer is not None and call.cdr_end is not None and group.sequence == 0:
        span = (call.cdr_end - call.cdr_answer).total_seconds()
        return max(span - (late or 0.0), 0.0), "cdr"
    return None, "none"


def finished_fact(
    call: Call, group: Group, file: File, report: FileReport, now: float
) -> RecordingFinished:
    """The fact for ``file`` of ``group`` (of ``call``), closed as ``report`` says."""
    details: dict[str, str] = {
        "pbx_path": file.key,
        "origin": group.origin,
        "wav_header": "final" if report.closed else "not finalised",
        "file_bytes": str(report.size),
    }
    duration = report.duration
    if duration is not None:
        details["wav_seconds"] = f"{duration:.3f}"
    late = _late_start(call, group)
    expected, details["basis"] = _expected(call, group, late)
    if late is not None:
        details["late_start_seconds"] = f"{late:.3f}"
        details["notice_recorded"] = "yes" if late < _NOTICE_RECORDED_WITHIN else "no"
    if call.answered_at is not None and call.ended_at is not None and not call.ended_in_outage:
        details["answered_seconds"] = f"{call.ended_at - call.answered_at:.3f}"
    if call.cdr_answer is not None:
        details["cdr_billsec"] = str(call.cdr_billsec)
        details["cdr_disposition"] = call.cdr_disposition
    for name, value in (
        ("dial_status", call.dial_status),
        ("hangup_cause", call.hangup_cause),
        ("caller", call.caller),
    ):
        if value:
            details[name] = value
    if call.ended_in_outage:
        details["ended_while_disconnected"] = "yes"
    if group.started_at is not None:
        started = timestamp(group.started_at)
    elif group.stamp is not None:
        started = group.stamp
    else:
        started = timestamp(report.mtime - (duration or 0.0))
    return RecordingFinished(
        call_id=call.call_id,
        at=timestamp(now),
        path=report.path,
        started_at=started,
        expected_duration=expected,
        leg=file.leg,
        sequence=group.sequence,
        details=details,
    )


def late_start_incident(call: Call, group: Group, fact: RecordingFinished) -> Incident | None:
    """The incident for ``group`` (of ``call``) having begun late, or ``None``."""
    if group.sequence != 0 or group.origin in ("message", "orphan", "found"):
        return None
    late = _late_start(call, group)
    if late is None:
        return None
    slack = 0.0 if group.started_at is not None else _WHOLE_SECONDS_SLACK
    if late < _NOTICE_RECORDED_WITHIN + slack:
        return None
    who = (
        "the dialplan started no recording; hotline started MixMonitor"
        if group.origin == "hotline"
        else "the recording began"
    )
    mix = next((f.key for f in group.files if f.leg == "mix"), None)
    name = PurePosixPath(mix).name if mix else fact.path.name
    return Incident(
        kind=IncidentKind.INCOMPLETE,
        at=fact.at,
        call_id=call.call_id,
        detail=(
            f"{who} {late:.2f} s after answer ({name}): the call's first "
            f"{late:.2f} s and the recording notice are not in the evidence"
        ),
    )
