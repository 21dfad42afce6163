"""The case API on both databases: search (Chinese included), filters, masking and
unmasking, recordings with HTTP Range, transcript versions, edits — and the audit
event each look or change leaves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from hotline.config import Settings
from hotline.store.delivery import WebhookEvent
from hotline.store.tables import AuditEvent, Case
from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import ROLES, WebRig, hotline_core, serve_web


async def _events(rig: WebRig, action: str) -> list[AuditEvent]:
    async with rig.core.db.session() as s:
        return list(
            (
                await s.exec(
                    select(AuditEvent)
                    .where(col(AuditEvent.action) == action)
                    .order_by(col(AuditEvent.seq))
                )
            ).all()
        )


def _numbers(body: dict[str, object]) -> list[str]:
    cases = body["cases"]
    assert isinstance(cases, list)
    return [c["number"] for c in cases]


async def test_search_finds_chinese_words_of_one_two_and_more_characters(
    rig: WebRig, tmp_path: Path
) -> None:
    cement = await open_case(rig.core, tmp_path, seed=1, segments=ZH_SEGMENTS)
    apart = await open_case(
        rig.core,
        tmp_path,
        seed=2,
        fields={"operator_notes": "水泥价格上涨，泥厂另有一家。", "category": "refusal"},
    )
    english = await open_case(
        rig.core,
        tmp_path,
        seed=3,
        fields={
            "description": "The Golden River factory filed late reports",
            "category": "late_reporting",
        },
    )
    handler = await rig.sign_in("handler")

    async def search(q: str, **extra: str) -> list[str]:
        params = "&".join(f"{k}={v}" for k, v in {"q": q, **extra}.items())
        status, body, _ = await handler.get(f"/api/cases?{params}")
        assert status == 200, body
        return _numbers(body)

    assert await search("水泥") == [apart.number, cement.number]  # two characters
    assert await search("厂") == [apart.number, cement.number]  # one character
    assert await search("水泥厂") == [cement.number]  # its bigrams occur apart in the other
    assert await search("虚报产值") == [cement.number]
    assert await search("金河 造假") == [cement.number]  # every word must be there
    assert await search("golden") == [english.number]
    assert await search("GOLDEN river") == [english.number]
    assert await search("钢铁") == []
    assert await search("水泥", category="refusal") == [apart.number]
    assert await search("%2C%3F") == []  # no words in it
    # The case number is searchable too.
    assert await search(cement.number) == [cement.number]


async def test_filters_and_paging(rig: WebRig, tmp_path: Path) -> None:
    made = [
        await open_case(rig.core, tmp_path, seed=10 + i, fields={"operator": f"op{i % 2}"})
        for i in range(5)
    ]
    async with rig.core.db.session() as s:
        old = await s.get(Case, made[0].id)
        assert old is not None
        old.created_at = old.created_at - timedelta(days=40)
        old.status = "forwarded"
        s.add(old)
    handler = await rig.sign_in("handler")
    status, body, _ = await handler.get("/api/cases?limit=2")
    assert status == 200 and _numbers(body) == [made[4].number, made[3].number]
    status, body, _ = await handler.get(f"/api/cases?limit=2&before={body['next_before']}")
    assert _numbers(body) == [made[2].number, made[1].number]
    assert _numbers((await handler.get("/api/cases?operator=op0"))[1]) == [
        made[4].number,
        made[2].number,
        made[0].number,
    ]
    assert _numbers((await handler.get("/api/cases?status=forwarded"))[1]) == [made[0].number]
    # ``since`` is a date in the agency's time zone (Asia/Shanghai by default): the day
    # after the old case's local day, whatever the hour in UTC.
    local = old.created_at.astimezone(rig.core.settings.tz)
    since = (local + timedelta(days=1)).date().isoformat()
    assert made[0].number not in _numbers((await handler.get(f"/api/cases?since={since}"))[1])
    until = local.date().isoformat()  # on or before: the old case's own local day
    assert _numbers((await handler.get(f"/api/cases?until={until}"))[1]) == [made[0].number]
    for bad in ("limit=0", "limit=x", "since=yesterday", "category=arson", "before=-1"):
        status, body, _ = await handler.get(f"/api/cases?{bad}")
        assert status == 400 and body["details"], bad
    # An operator lists the calls they took, whatever they ask for.
    await rig.add_user("op0", "operator")
    op0 = await rig.sign_in("op0")
    assert len(_numbers((await op0.get("/api/cases"))[1])) == 3
    assert _numbers((await op0.get("/api/cases?operator=op1"))[1]) == []


async def test_caller_is_masked_and_unmasking_is_audited(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(
        rig.core,
        tmp_path,
        seed=20,
        caller="13800138000",
        fields={
            "reporter_name": "张三丰",
            "reporter_contact": "13912345678",
            "operator": "operator",
        },
    )
    handler = await rig.sign_in("handler")
    status, body, _ = await handler.get(f"/api/cases/{case.id}")
    assert status == 200
    assert body["caller"] == {
        "number": "138****8000",
        "e164": "+86*******8000",
        "name": "",
        "masked": True,
    }
    assert body["reporter_name"] == "张**" and body["reporter_contact"] == "139****5678"
    listed = (await handler.get("/api/cases"))[1]["cases"][0]
    assert listed["caller"]["number"] == "138****8000"
    status, body, _ = await handler.request(
        "POST",
        f"/api/cases/{case.id}/unmask",
        json={"reason": "the reporter asked for a call back"},
    )
    assert status == 200 and body["caller"]["number"] == "13800138000"
    assert body["reporter_name"] == "张三丰"
    (event,) = await _events(rig, "caller.unmasked")
    assert event.actor == "user:handler" and event.case_id == case.id
    assert event.details == {"reason": "the reporter asked for a call back"}
    assert (await handler.request("POST", f"/api/cases/{case.id}/unmask", json={}))[0] == 400
    # The operator who took the call sees it as they typed it.
    operator = await rig.sign_in("operator")
    own = (await operator.get(f"/api/cases/{case.id}"))[1]
    assert own["caller"]["number"] == "13800138000" and not own["caller"]["masked"]
    # The history shows the case's events with numbers masked.
    history = (await handler.get(f"/api/cases/{case.id}/history"))[1]["events"]
    imported = next(e for e in history if e["action"] == "call.imported")
    assert imported["details"]["caller"] == "138****8000"


async def test_every_look_at_a_recording_or_transcript_is_audited(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=30, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    status, audio, resp = await handler.get(f"/api/cases/{case.id}/recording")
    assert status == 200 and audio[:4] == b"RIFF" and resp.headers["Content-Type"] == "audio/wav"
    assert resp.headers["Accept-Ranges"] == "bytes"
    status, part, resp = await handler.get(
        f"/api/cases/{case.id}/recording", headers={"Range": "bytes=0-99"}
    )
    assert status == 206 and part == audio[:100]
    assert resp.headers["Content-Range"] == f"bytes 0-99/{len(audio)}"
    status, part, _ = await handler.get(
        f"/api/cases/{case.id}/recording", headers={"Range": "bytes=1000-1999"}
    )
    assert status == 206 and part == audio[1000:2000]
    status, _, _ = await handler.get(
        f"/api/cases/{case.id}/recording", headers={"Range": f"bytes={len(audio) + 10}-"}
    )
    assert status == 416
    status, _, resp = await handler.get(f"/api/cases/{case.id}/recording?download=true")
    assert status == 200 and "attachment" in resp.headers["Content-Disposition"]
    played = await _events(rig, "recording.played")
    # The full request and the playback from byte 0 each; the seek within the same
    # playback is covered by it.
    assert len(played) == 2 and all(e.actor == "user:handler" for e in played)
    assert len(await _events(rig, "recording.downloaded")) == 1

    status, body, _ = await handler.get(f"/api/cases/{case.id}")
    assert body["transcript"]["segments"][2]["text"] == ZH_SEGMENTS[2]["text"]
    status, body, _ = await handler.get(f"/api/cases/{case.id}/transcript")
    assert status == 200 and body["version"] == 1 and body["segments"][0]["speaker"] == "caller"
    viewed = await _events(rig, "transcript.viewed")
    assert len(viewed) == 2 and viewed[0].details == {"version": 1, "via": "api"}
    # The list carries no transcript text, so it is no look at one.
    listed = (await handler.get("/api/cases"))[1]["cases"][0]
    assert listed["transcript"]["version"] == 1 and "text" not in listed["transcript"]
    assert len(await _events(rig, "transcript.viewed")) == 2
    # An auditor sees the case but not what was said.
    auditor = await rig.sign_in("auditor")
    body = (await auditor.get(f"/api/cases/{case.id}"))[1]
    assert body["transcript"] is None and body["recording"]["sha256"]
    assert (await auditor.get(f"/api/cases/{case.id}/recording"))[0] == 403


async def test_correcting_the_transcript_makes_a_new_version(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=40, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    current = (await handler.get(f"/api/cases/{case.id}/transcript"))[1]
    edits = [{"text": s["text"], "speaker": s["speaker"]} for s in current["segments"]]
    edits[2]["text"] = "金河水泥厂统计造假，虚报工业产值。"
    edits[1]["speaker"] = "operator"
    status, body, _ = await handler.request(
        "PUT", f"/api/cases/{case.id}/transcript", json={"base_version": 1, "segments": edits}
    )
    assert status == 200, body
    assert body["version"] == 2 and body["source"] == "correction"
    assert body["author"] == "user:handler" and body["segments"][2]["edited"]
    assert body["segments"][0]["start"] == 0.0 and body["segments"][2]["end"] == 4.0
    # The corrected segment's words spell its new text and keep the times they had.
    words = body["segments"][2]["words"]
    assert "".join(w["word"] for w in words) == "金河水泥厂统计造假，虚报工业产值。"
    assert words[:2] == ZH_SEGMENTS[2]["words"][:2]
    assert words[2] == {"start": 3.5, "end": 4.0, "word": "虚报工业产值。", "probability": None}
    assert body["segments"][1]["words"] == []  # a transcript from before word timings
    # The old version stays, and says what it was.
    assert (await handler.get(f"/api/cases/{case.id}/transcript?version=1"))[1]["segments"][2][
        "text"
    ] == ZH_SEGMENTS[2]["text"]
    versions = (await handler.get(f"/api/cases/{case.id}/transcript/versions"))[1]["versions"]
    assert [(v["version"], v["source"]) for v in versions] == [(1, "machine"), (2, "correction")]
    diff = (await handler.get(f"/api/cases/{case.id}/transcript/diff?from=1&to=2"))[1]
    assert [s["index"] for s in diff["segments"]] == [2]
    assert ["insert", "工业"] in diff["segments"][0]["ops"]
    # A correction made on an old version, or changing nothing, is refused.
    status, body, _ = await handler.request(
        "PUT", f"/api/cases/{case.id}/transcript", json={"base_version": 1, "segments": edits}
    )
    assert status == 409 and "version 2" in body["error"]
    status, body, _ = await handler.request(
        "PUT", f"/api/cases/{case.id}/transcript", json={"base_version": 2, "segments": edits}
    )
    assert status == 400 and "changes nothing" in body["error"]
    status, _, _ = await handler.request(
        "PUT", f"/api/cases/{case.id}/transcript", json={"base_version": 2, "segments": edits[:1]}
    )
    assert status == 400
    # The handler took the case; the new words are searchable; it is all in the history.
    case_now = (await handler.get(f"/api/cases/{case.id}"))[1]
    assert case_now["status"] == "under_review" and case_now["handler"] == "handler"
    assert _numbers((await handler.get("/api/cases?q=工业产值"))[1]) == [case.number]
    actions = [
        e["action"] for e in (await handler.get(f"/api/cases/{case.id}/history"))[1]["events"]
    ]
    assert "transcript.corrected" in actions and "case.updated" in actions


async def test_editing_fields_validates_audits_and_tells_the_case_system(
    db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(
        database_url=db_url,
        webhook_url="http://127.0.0.1:9/hooks",
        webhook_secret="whsec_" + "A" * 32,
    )
    async with hotline_core(settings) as core, serve_web(core) as rig:
        for role in ROLES:
            await rig.add_user(role, role)
        case = await open_case(core, tmp_path, seed=50)
        handler = await rig.sign_in("handler")
        status, body, _ = await handler.request(
            "PATCH",
            f"/api/cases/{case.id}",
            json={"entity_name": "金河水泥厂", "category": "false_data", "reporter_name": "李四"},
        )
        assert status == 200 and body["entity_name"] == "金河水泥厂"
        assert body["status"] == "under_review" and body["handler"] == "handler"
        (event,) = await _events(rig, "case.updated")
        assert event.details["fields"] == [
            "category",
            "entity_name",
            "handler",
            "reporter_name",
            "status",
        ]
        assert "李四" not in str(event.details)  # personal data stays out of the chain
        for bad in (
            {"entity_credit_code": "91350100M000100Y44"},  # wrong check character
            {"category": "arson"},
            {"status": "accepted"},
            {"unknown_field": 1},
        ):
            status, body, _ = await handler.request("PATCH", f"/api/cases/{case.id}", json=bad)
            assert status == 400, bad
        status, _, _ = await handler.request(
            "PATCH", f"/api/cases/{case.id}", json={"entity_credit_code": "91350100m000100y43"}
        )
        assert status == 200
        # Forwarded: later edits go to the case system as case.updated.
        status, body, _ = await handler.request("POST", f"/api/cases/{case.id}/forward")
        assert status == 200 and body["status"] == "forwarded", body
        assert body["caller"]["masked"] and "text" not in (body["transcript"] or {})
        assert (await handler.request("POST", f"/api/cases/{case.id}/forward"))[0] == 409
        await handler.request("PATCH", f"/api/cases/{case.id}", json={"evidence_leads": "账本"})
        async with core.db.session() as s:
            types = [e.type for e in (await s.exec(select(WebhookEvent))).all()]
        assert types == ["case.created", "case.updated"]
