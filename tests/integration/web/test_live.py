"""Live calls on the operator's screen, fed by the same call facts the AMI and SIP
sources emit, and the intake form that follows the call onto its case."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout

from hotline.calls import CallAnswered, CallEnded, CallStarted, RecordingFinished, RecordingStarted
from hotline.store.types import utcnow
from tests.support.web_data import make_wav
from tests.support.web_server import Browser, WebRig
from tests.support.web_sse import EventReader


def _events(browser: Browser) -> object:
    return browser.http.get(
        browser.base + "/api/events", timeout=ClientTimeout(total=60, sock_read=30)
    )


async def test_operators_see_calls_live_and_nobody_misses_an_unrecorded_one(
    rig: WebRig,
) -> None:
    operator = await rig.sign_in("operator")
    supervisor = await rig.sign_in("supervisor")
    async with _events(operator) as op_stream, _events(supervisor) as sup_stream:  # type: ignore[attr-defined]
        assert op_stream.status == 200
        assert op_stream.headers["Content-Type"].startswith("text/event-stream")
        ops, sups = EventReader(op_stream), EventReader(sup_stream)
        assert (await ops.next())[0] == "snapshot"
        assert (await sups.next())[0] == "snapshot"
        now = utcnow()
        await rig.core.on_fact(
            CallStarted(
                call_id="c-1", source="asterisk", at=now, caller="13800138000", callee="12340"
            )
        )
        ringing = await ops.until("call", call_id="c-1")
        assert ringing["state"] == "ringing" and ringing["caller"] == "13800138000"
        await rig.core.on_fact(CallAnswered(call_id="c-1", at=now + timedelta(seconds=2)))
        answered = await ops.until("call", call_id="c-1", state="answered")
        assert answered["unrecorded"] is True and answered["recording"] is False
        await rig.core.on_fact(
            RecordingStarted(call_id="c-1", at=now + timedelta(seconds=2), name="c-1.wav")
        )
        recording = await ops.until("call", call_id="c-1", recording=True)
        assert recording["unrecorded"] is False
        # A supervisor watches too, without the number.
        seen = await sups.until("call", call_id="c-1", recording=True)
        assert seen["caller"] == "138****8000" and seen["caller_masked"] is True

    status, body, _ = await operator.get("/api/calls/live")
    assert status == 200
    (call,) = body["calls"]
    assert call["call_id"] == "c-1" and call["recording"] and call["caller"] == "13800138000"
    assert (await supervisor.get("/api/calls/live"))[1]["calls"][0]["caller"] == "138****8000"


async def test_intake_notes_follow_the_call_onto_its_case(rig: WebRig, tmp_path: Path) -> None:
    operator = await rig.sign_in("operator")
    now = utcnow()
    await rig.core.on_fact(CallStarted(call_id="c-2", source="sip", at=now, caller="13912345678"))
    await rig.core.on_fact(CallAnswered(call_id="c-2", at=now))
    await rig.core.on_fact(RecordingStarted(call_id="c-2", at=now, name="c-2.wav"))
    form = {
        "reporter_name": "王五",
        "reporter_contact": "13912345678",
        "entity_name": "金河水泥厂",
        "category": "false_data",
        "operator_notes": "来电人称该厂虚报产值。",
    }
    status, body, _ = await operator.request("PUT", "/api/calls/c-2/intake", json=form)
    assert status == 200 and body["case_id"] is None and body["operator"] == "operator"
    status, body, _ = await operator.request(
        "PUT", "/api/calls/c-2/intake", json={"evidence_leads": "月报表"}
    )
    assert body["fields"]["entity_name"] == "金河水泥厂" and body["fields"]["evidence_leads"]
    listed = (await operator.get("/api/calls/live"))[1]["calls"][0]
    assert listed["intake"]["fields"]["category"] == "false_data"
    # Another operator cannot take over the call's form, nor read the reporter on it.
    await rig.add_user("op2", "operator")
    other = await rig.sign_in("op2")
    taken = await other.request("PUT", "/api/calls/c-2/intake", json={"operator_notes": "x"})
    assert taken[0] == 409
    assert (await other.get("/api/calls/c-2/intake"))[0] == 403
    seen = (await other.get("/api/calls/live"))[1]["calls"][0]["intake"]
    assert seen["operator"] == "operator" and seen["fields"] == {}
    assert (await operator.request("PUT", "/api/calls/nope/intake", json={}))[0] == 404

    # Hang-up: the recording is sealed, the case opens with the form on it.
    wav = make_wav(tmp_path / "c-2.wav", seconds=3, seed=7)
    end = now + timedelta(seconds=3)
    await rig.core.on_fact(RecordingFinished(call_id="c-2", at=end, path=wav, started_at=now))
    await rig.core.on_fact(CallEnded(call_id="c-2", at=end, answered=True))
    cases = (await operator.get("/api/cases"))[1]["cases"]
    assert len(cases) == 1
    case = (await operator.get(f"/api/cases/{cases[0]['id']}"))[1]
    assert case["operator"] == "operator" and case["entity_name"] == "金河水泥厂"
    assert case["operator_notes"] == "来电人称该厂虚报产值。" and case["evidence_leads"] == "月报表"
    assert case["reporter_name"] == "王五" and not case["caller"]["masked"]
    # Notes finished after the hang-up go straight onto the case.
    status, body, _ = await operator.request(
        "PUT", "/api/calls/c-2/intake", json={"description": "上月统计报表"}
    )
    assert status == 200 and body["case_id"] == case["id"]
    assert (await operator.get(f"/api/cases/{case['id']}"))[1]["description"] == "上月统计报表"
    handler = await rig.sign_in("handler")
    found = (await handler.get("/api/cases?q=虚报产值"))[1]["cases"]
    assert [c["id"] for c in found] == [case["id"]]
    history = [
        e["action"] for e in (await handler.get(f"/api/cases/{case['id']}/history"))[1]["events"]
    ]
    assert history.index("case.opened") < history.index("case.intake")
    assert "intake.saved" in history


async def test_an_operator_cannot_take_a_case_whose_call_no_operator_took(
    rig: WebRig, tmp_path: Path
) -> None:
    """A case whose call has no form (an imported recording, a call that ended long
    ago) is not taken by saving a form for it: that would hand any operator its caller,
    its recording and its transcript."""
    operator = await rig.sign_in("operator")
    long_ago = utcnow() - timedelta(hours=2)
    await rig.core.on_fact(
        CallStarted(call_id="c-old", source="sip", at=long_ago, caller="13912340000")
    )
    await rig.core.on_fact(CallAnswered(call_id="c-old", at=long_ago))
    end = long_ago + timedelta(seconds=3)
    wav = make_wav(tmp_path / "c-old.wav", seconds=3, seed=8)
    await rig.core.on_fact(
        RecordingFinished(call_id="c-old", at=end, path=wav, started_at=long_ago)
    )
    await rig.core.on_fact(CallEnded(call_id="c-old", at=end, answered=True))
    status, body, _ = await operator.request(
        "PUT", "/api/calls/c-old/intake", json={"operator_notes": "claimed"}
    )
    assert status == 409 and "worked on from its page" in body["error"]
    assert (await operator.get("/api/cases"))[1]["cases"] == []

    # A caller who hung up before the form was saved: the operator still may, just after.
    now = utcnow()
    await rig.core.on_fact(CallStarted(call_id="c-new", source="sip", at=now, caller="1391234"))
    await rig.core.on_fact(CallAnswered(call_id="c-new", at=now))
    wav = make_wav(tmp_path / "c-new.wav", seconds=3, seed=9)
    later = now + timedelta(seconds=3)
    await rig.core.on_fact(RecordingFinished(call_id="c-new", at=later, path=wav, started_at=now))
    await rig.core.on_fact(CallEnded(call_id="c-new", at=later, answered=True))
    status, body, _ = await operator.request(
        "PUT", "/api/calls/c-new/intake", json={"operator_notes": "来电人挂断后补记。"}
    )
    assert status == 200 and body["case_id"] is not None
    assert [c["id"] for c in (await operator.get("/api/cases"))[1]["cases"]] == [body["case_id"]]


async def test_a_shutdown_ends_open_event_streams_at_once(rig: WebRig) -> None:
    token = await rig.token("supervisor")
    async with ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        streams = [await http.get(rig.url + "/api/events") for _ in range(5)]
        for resp in streams:
            assert (await EventReader(resp).next())[0] == "snapshot"
        started = time.monotonic()
        await rig.runner.shutdown()
        assert time.monotonic() - started < 5
        for resp in streams:
            resp.release()


async def test_metrics_in_prometheus_format(rig: WebRig, tmp_path: Path) -> None:
    from tests.support.web_data import open_case

    await open_case(rig.core, tmp_path, seed=60)
    client = rig.bearer(await rig.token("auditor", "prometheus"))
    status, body, resp = await client.get("/metrics")
    assert status == 200 and resp.headers["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert "# TYPE hotline_calls_total counter" in text
    assert 'hotline_calls_total{outcome="answered"} 1' in text
    assert "hotline_recordings_total 1" in text
    assert 'hotline_jobs{kind="transcribe",status="queued"} 1' in text
    assert 'hotline_cases{status="draft"} 1' in text
    assert "hotline_transcribed_seconds_total 0" in text
    assert (await rig.anonymous().get("/metrics"))[0] == 401
    # Health for everyone; the details for those who may see metrics.
    assert (await rig.anonymous().get("/api/health"))[1] == {"status": "ok"}
    assert "jobs" in (await client.get("/api/health"))[1]
    await asyncio.sleep(0)


def _sample(text: str, name: str) -> float:
    """The value of the sample ``name`` (with its labels) in a Prometheus text body."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} is not in the metrics:\n{text}")


async def test_calls_active_go_down_as_calls_end_and_calls_total_only_up(rig: WebRig) -> None:
    client = rig.bearer(await rig.token("auditor", "prometheus"))

    async def fact(kind: str, call: str) -> None:
        at = utcnow()
        if kind == "start":
            await rig.core.on_fact(CallStarted(call_id=call, source="sip", at=at, caller="110"))
        elif kind == "answer":
            await rig.core.on_fact(CallAnswered(call_id=call, at=at))
        else:
            answered = kind == "end-answered"
            await rig.core.on_fact(CallEnded(call_id=call, at=at, answered=answered))

    async def scrape() -> dict[str, float]:
        status, body, _ = await client.get("/metrics")
        assert status == 200
        text = body.decode()
        assert "# TYPE hotline_calls_active gauge" in text
        assert "# TYPE hotline_calls_total counter" in text
        names = [
            'hotline_calls_active{state="ringing"}',
            'hotline_calls_active{state="answered"}',
            'hotline_calls_total{outcome="answered"}',
            'hotline_calls_total{outcome="unanswered"}',
        ]
        return {n.split("{")[1].strip("}"): _sample(text, n) for n in names}

    for call in ("a", "b", "c", "d"):
        await fact("start", call)
    for call in ("a", "c"):
        await fact("answer", call)
    assert await scrape() == {
        'state="ringing"': 2,
        'state="answered"': 2,
        'outcome="answered"': 0,
        'outcome="unanswered"': 0,
    }
    await fact("end-answered", "a")
    await fact("end-unanswered", "b")
    assert await scrape() == {
        'state="ringing"': 1,
        'state="answered"': 1,
        'outcome="answered"': 1,
        'outcome="unanswered"': 1,
    }
    await fact("end-answered", "c")
    await fact("end-unanswered", "d")
    assert await scrape() == {
        'state="ringing"': 0,
        'state="answered"': 0,
        'outcome="answered"': 2,
        'outcome="unanswered"': 2,
    }


async def test_an_operator_hears_only_of_the_cases_of_their_own_calls(
    rig: WebRig, tmp_path: Path
) -> None:
    from tests.support.web_data import open_case

    others = await open_case(rig.core, tmp_path, seed=61)  # imported: nobody's call
    operator = await rig.sign_in("operator")
    now = utcnow()
    await rig.core.on_fact(CallStarted(call_id="c-own", source="sip", at=now, caller="1391"))
    await rig.core.on_fact(CallAnswered(call_id="c-own", at=now))
    status, _, _ = await operator.request(
        "PUT", "/api/calls/c-own/intake", json={"operator_notes": "来电人举报。"}
    )
    assert status == 200
    wav = make_wav(tmp_path / "c-own.wav", seconds=3, seed=62)
    await rig.core.on_fact(RecordingFinished(call_id="c-own", at=now, path=wav, started_at=now))
    own = (await operator.get("/api/cases"))[1]["cases"]
    assert [c["id"] for c in own] != [others.id] and len(own) == 1
    async with _events(operator) as stream:  # type: ignore[attr-defined]
        events = EventReader(stream)
        assert (await events.next())[0] == "snapshot"
        rig.core.live.publish("case", {"id": others.id, "changed": "confidentiality"})
        rig.core.live.publish("case", {"id": own[0]["id"], "changed": "intake"})
        heard = await events.until("case")
        assert heard["id"] == own[0]["id"]
    # A handler hears of both.
    handler = await rig.sign_in("handler")
    async with _events(handler) as stream:  # type: ignore[attr-defined]
        events = EventReader(stream)
        assert (await events.next())[0] == "snapshot"
        rig.core.live.publish("case", {"id": others.id, "changed": "confidentiality"})
        assert (await events.until("case"))["id"] == others.id
