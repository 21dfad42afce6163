"""The project's own dialplan on a real Asterisk 22 (series 2 captures), every scenario
replayed with the files Asterisk wrote, through the Asterisk source into the store:
one case per call, every announced file sealed into its own call's case, the transfer on
one timeline, incidents exactly where due."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlmodel import select

from hotline.cases import case_json, load_views, notice_json
from hotline.config import Settings
from hotline.evidence.verify import verify
from hotline.intake import TRANSCRIBE
from hotline.service import Hotline
from hotline.store.delivery import WebhookEvent
from hotline.store.tables import AuditEvent, Call, Case, Incident, Job, Recording
from hotline.webhooks.endpoints import new_secret
from tests.support.ami_captures import captured_files, rx_messages
from tests.support.ami_replay import replay

CALLS: dict[str, dict[str, str]] = {
    # scenario: {Linkedid: caller number}
    "queue-answered": {"1796105967.0": "13800138001"},
    "queue-answered-operator-hangs-up": {"1796105999.2": "13800138001"},
    "queue-timeout-message": {"1796106030.4": "13800138001"},
    "hangup-during-notice": {"1796106070.6": "13800138001"},
    "hangup-during-notice-twice": {"1796106079.7": "13800138001", "1796106085.8": "13800138001"},
    "blind-transfer": {"1796106095.9": "13800138001"},
    "concurrent-five": {f"1796106128.{12 + n}": f"1360013600{n + 1}" for n in range(5)},
    "no-mixmonitor": {"1796106183.32": "13800138001"},
    "operator-unreachable": {"1796106210.34": "13800138001"},
}
LATE = "recording notice are not in the evidence"


def _leg(name: str) -> str:
    stem = name.removesuffix(".wav")
    for leg in ("caller", "operator", "message"):
        if stem.endswith(f"-{leg}"):
            return leg
    return "mix"


def _written(scenario: str, call_id: str) -> dict[str, Any]:
    """The files Asterisk wrote for one call, by name."""
    return {
        name: f
        for name, f in captured_files(f"project-dialplan/{scenario}").items()
        if f"-{call_id}" in name
    }


async def _core(settings: Settings) -> Hotline:
    core = Hotline(settings)
    await core.open(migrate=True)
    return core


def _settings(make_settings: Callable[..., Settings], **extra: Any) -> Settings:
    # A webhook endpoint (nothing listens; no worker runs): the outbox shows what the
    # case system would be sent.
    return make_settings(
        webhook_url="http://127.0.0.1:9/hotline",
        webhook_secret=new_secret(),
        forward="auto",
        **extra,
    )


@pytest.fixture
async def core(make_settings: Callable[..., Settings]) -> AsyncIterator[Hotline]:
    hotline = await _core(_settings(make_settings))
    yield hotline
    await hotline.close()


async def _rows(core: Hotline, table: type) -> list:  # type: ignore[type-arg]
    async with core.db.session() as s:
        return list((await s.exec(select(table).order_by(*table.__table__.primary_key))).all())


TIMED = 3.0
"""The replay speed where no incident is the assertion: a recording counts as late one
second after answer, and a stall of the process (a loaded, shared machine: 0.1-0.2 s
seen) is multiplied by the speed; at 16, one made a late-start incident."""


@pytest.mark.parametrize("scenario", list(CALLS))
async def test_every_capture_ends_in_one_case_per_call_with_its_own_files(
    core: Hotline, tmp_path: Path, scenario: str
) -> None:
    async with asyncio.timeout(60):
        sim = await replay(
            f"project-dialplan/{scenario}", tmp_path / "monitor", core.on_fact, speed=TIMED
        )
    calls = {c.external_id: c for c in await _rows(core, Call)}
    assert set(calls) == set(CALLS[scenario])
    cases = {c.call_id: c for c in await _rows(core, Case)}
    recordings = await _rows(core, Recording)
    sealed = [e for e in await _rows(core, AuditEvent) if e.action == "recording.sealed"]
    for call_id, caller in CALLS[scenario].items():
        call = calls[call_id]
        assert (call.source, call.state, call.caller_raw) == ("asterisk", "ended", caller)
        assert call.answered_at is not None and call.ended_at is not None
        case = cases[call.id]  # one case per call
        mine = [r for r in recordings if r.call_id == call.id]
        written = _written(scenario, call_id)
        # Every file Asterisk wrote for the call, sealed into its case, bytes unchanged.
        by_leg = {_leg(name): f.sha256 for name, f in written.items()}
        assert sorted((r.leg, r.sha256) for r in mine) == sorted(by_leg.items())
        if scenario != "no-mixmonitor":  # there, hotline named the files (see below)
            assert sorted(r.original_name for r in mine) == sorted(written)
        assert {r.sequence for r in mine if r.leg != "message"} == {0}
        for rec in mine:
            assert rec.duration == pytest.approx(
                next(f.duration for n, f in written.items() if _leg(n) == rec.leg), abs=0.01
            )
            (event,) = [e for e in sealed if e.subject == f"recording:{rec.id}"]
            assert event.case_id == case.id
            # The project dialplan starts MixMonitor at answer, before the notice (art. 9).
            notice = notice_json(rec.details)
            if rec.leg == "message":
                assert notice is None, notice
            else:
                assert notice is not None, rec.details
                late = scenario == "no-mixmonitor"
                assert notice["state"] == ("not_recorded" if late else "recorded"), notice
                assert (notice["late_seconds"] > 1.0) is late, notice
    assert len(cases) == len(calls) and len(recordings) == len(sealed)
    # One transcription per case: the mix, which holds the legs and any message.
    jobs = [j for j in await _rows(core, Job) if j.kind == TRANSCRIBE and j.status != "cancelled"]
    mixes = {r.id for r in recordings if r.leg == "mix"}
    assert sorted(j.payload["recording_id"] for j in jobs) == sorted(mixes)
    assert len(mixes) == len(cases)
    incidents = await _rows(core, Incident)
    sent = [a.action_name for a in sim.actions]
    if scenario == "no-mixmonitor":
        (late,) = incidents
        assert late.kind == "recording.incomplete" and LATE in late.detail
        assert late.case_id == next(iter(cases.values())).id
        assert sent.count("MixMonitor") == 1
    else:
        assert incidents == []
        assert "MixMonitor" not in sent  # the dialplan records every call itself
    report = await verify(core.db, core.store)
    assert report.ok and report.recordings_checked == len(recordings)


async def test_two_calls_in_a_row_with_identical_recordings_are_two_cases(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """Two callers hang up 2 s into the notice: both calls' files are byte-identical (and
    the mix equals the operator leg; the caller leg is silence). Each call keeps its own.
    Replaying the session again (a restart offering everything anew) adds nothing."""
    core = await _core(_settings(make_settings, database_url=db_url))
    monitor = tmp_path / "monitor"
    try:
        async with asyncio.timeout(60):
            await replay("project-dialplan/hangup-during-notice-twice", monitor, core.on_fact)
            before = {t: await _rows(core, t) for t in (Call, Case, Recording, Incident, Job)}
            events_before = await _rows(core, WebhookEvent)
            audit_before = len(await _rows(core, AuditEvent))
            await replay("project-dialplan/hangup-during-notice-twice", monitor, core.on_fact)
        async with core.db.session() as s:
            views = await load_views(s, list((await s.exec(select(Case))).all()))
        assert len(views) == 2
        hashes = []
        for view in views:
            body = case_json(view)
            assert body["call"]["source"] == "asterisk"
            assert sorted(r["leg"] for r in body["recordings"]) == ["caller", "mix", "operator"]
            hashes.append(sorted(r["sha256"] for r in body["recordings"]))
            audit = [
                e
                for e in await _rows(core, AuditEvent)
                if e.case_id == view.case.id and e.action in ("recording.sealed", "case.opened")
            ]
            assert sorted(e.action for e in audit) == ["case.opened"] + ["recording.sealed"] * 3
        assert hashes[0] == hashes[1]  # the same bytes, two calls' evidence
        mix, operator = (
            next(r for r in views[0].recordings if r.leg == leg) for leg in ("mix", "operator")
        )
        assert mix.sha256 == operator.sha256  # within one call, too
        assert {v.call.external_id for v in views} == {"1796106079.7", "1796106085.8"}
        assert await _rows(core, Incident) == []
        # Six recordings, two contents (the notice's start; the silent caller leg),
        # each stored once.
        assert len({r.stored_path for v in views for r in v.recordings}) == 2
        # The second replay offered every file again: nothing new but a note of each.
        for table, rows in before.items():
            assert await _rows(core, table) == rows, table
        assert await _rows(core, WebhookEvent) == events_before
        audit = await _rows(core, AuditEvent)
        assert [e.action for e in audit[audit_before:]] == ["recording.duplicate"] * 6
    finally:
        await core.close()


def _ringback(samples: np.ndarray, start: float, end: float) -> float:
    """Share of the power at 440 and 480 Hz (the ringback) in ``[start, end)`` s."""
    seg = samples[int(start * 8000) : int(end * 8000)]
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    freq = np.fft.rfftfreq(len(seg), 1 / 8000)
    tone = sum(spectrum[(freq >= f - 5) & (freq < f + 5)].sum() for f in (440, 480))
    return float(tone / max(spectrum.sum(), 1e-9))


def _loud(samples: np.ndarray, start: float, end: float) -> float:
    seg = samples[int(start * 8000) : int(end * 8000)]
    return float(np.sqrt(np.mean(seg**2)))


async def test_a_blind_transfer_is_one_recording_on_one_timeline(
    core: Hotline, tmp_path: Path
) -> None:
    """Operator A answers, transfers blind to B; the caller leaves the hotline context, so
    the dialplan's `HotlineCallEnded` never comes: the case is complete without it."""
    assert not [
        m
        for _, m in rx_messages("project-dialplan/blind-transfer")
        if m.event == "UserEvent" and m.get("userevent") == "HotlineCallEnded"
    ]
    async with asyncio.timeout(60):
        sim = await replay("project-dialplan/blind-transfer", tmp_path / "monitor", core.on_fact)
    assert "MixMonitor" not in [a.action_name for a in sim.actions]
    (call,) = await _rows(core, Call)
    (case,) = await _rows(core, Case)
    assert case.call_id == call.id
    assert call.state == "ended" and call.end_cause == "Normal Clearing"
    recordings = await _rows(core, Recording)
    assert {(r.leg, r.sequence) for r in recordings} == {
        ("mix", 0),
        ("caller", 0),
        ("operator", 0),
    }
    (mix,) = [r for r in recordings if r.leg == "mix"]
    assert call.answered_at is not None and call.ended_at is not None
    span = (call.ended_at - call.answered_at).total_seconds()
    assert mix.duration == pytest.approx(span, abs=0.5)  # answer to hang-up, A and B
    # In order on the mix's timeline: A talks (answered 9.17 s), the ringback while B
    # rings after the transfer (14.18 s), then B talks (answered 17.19 s).
    data = core.store.path_of(mix.stored_path).read_bytes()[44:]
    samples = np.frombuffer(data, dtype="<i2").astype(np.float64)
    assert _loud(samples, 9.5, 14.0) > 500 and _ringback(samples, 9.5, 14.0) < 0.2
    assert _ringback(samples, 14.3, 16.1) > 0.9
    assert _loud(samples, 17.5, 22.0) > 500 and _ringback(samples, 17.5, 22.0) < 0.2
    assert await _rows(core, Incident) == []


async def test_hotline_records_a_call_the_dialplan_does_not_and_says_what_is_missing(
    core: Hotline, tmp_path: Path
) -> None:
    """No MixMonitor in the dialplan: hotline starts one 3 s after answer. The notice and
    those 3 s are not in the evidence: a `recording.incomplete` incident on the case,
    and its webhook. The three names the dialplan announced but never wrote are no
    incident of their own."""
    async with asyncio.timeout(60):  # slower: the guard's 3 s are timed on a busy machine
        sim = await replay(
            "project-dialplan/no-mixmonitor", tmp_path / "monitor", core.on_fact, speed=8.0
        )
    (action,) = [a for a in sim.actions if a.action_name == "MixMonitor"]
    assert action["Channel"] == "PJSIP/caller-00000020"
    assert action["File"].endswith("-1796106183.32-h1.wav")
    (case,) = await _rows(core, Case)
    recordings = await _rows(core, Recording)
    captured = captured_files("project-dialplan/no-mixmonitor")
    assert sorted(r.original_name for r in recordings) == sorted(
        action["File"].rsplit("/", 1)[1].replace(".wav", suffix)
        for suffix in (".wav", "-caller.wav", "-operator.wav")
    )
    for rec in recordings:
        origin = "hotline-test-1796106183.32" + ("" if rec.leg == "mix" else f"-{rec.leg}")
        assert rec.sha256 == captured[f"{origin}.wav"].sha256
        assert rec.details["origin"] == "hotline"
        assert 3.0 <= float(rec.details["late_start_seconds"]) < 3.8
        assert rec.details["notice_recorded"] == "no"
    (incident,) = await _rows(core, Incident)
    assert incident.kind == "recording.incomplete" and incident.case_id == case.id
    late = re.fullmatch(
        r"the dialplan started no recording; hotline started MixMonitor (\d+\.\d\d) s after "
        r"answer \((hotline-\S+-h1\.wav)\): the call's first \1 s and the recording notice "
        r"are not in the evidence",
        incident.detail,
    )
    assert late is not None and 3.0 <= float(late[1]) < 3.8, incident.detail
    events = await _rows(core, WebhookEvent)
    assert [e.type for e in events] == ["case.created", "recording.incomplete"]
    assert events[1].case_id == case.id
    assert events[1].data["incident"]["detail"] == incident.detail
    assert events[1].data["case"]["number"] == case.number
    async with core.db.session() as s:
        (view,) = await load_views(s, [case])
    assert [i["kind"] for i in case_json(view)["incidents"]] == ["recording.incomplete"]
