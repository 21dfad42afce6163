"""``hotline verify`` holds each transcript version's words to the SHA-256 the event that
made it keeps: the machine's version and a handler's correction, each rewritten in the
database, are named, and so is a version no event made. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from hotline.evidence.verify import verify
from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import WebRig


async def test_a_transcript_rewritten_in_the_database_is_named(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=81, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    current = (await handler.get(f"/api/cases/{case.id}/transcript"))[1]
    edits = [{"text": s["text"], "speaker": s["speaker"]} for s in current["segments"]]
    edits[2]["text"] = "金河水泥厂统计造假，虚报工业产值。"
    status, body, _ = await handler.request(
        "PUT", f"/api/cases/{case.id}/transcript", json={"base_version": 1, "segments": edits}
    )
    assert status == 200, body
    report = await verify(rig.core.db, rig.core.store)
    assert report.ok and report.transcripts.checked == 2, report.failures

    async with rig.core.db.connection() as conn:
        ids = [
            row[0]
            for row in (
                await conn.execute(
                    text("SELECT id FROM transcripts WHERE case_id = :c ORDER BY version"),
                    {"c": case.id},
                )
            ).all()
        ]
        for tid in ids:  # both versions now say the caller withdrew
            await conn.execute(
                text("UPDATE transcripts SET text = :t WHERE id = :id"),
                {"t": "我要撤回举报。", "id": tid},
            )
        await conn.execute(
            text(
                "INSERT INTO transcripts (recording_id, case_id, version, source, author,"
                " language, model, text, segments, created_at, report)"
                " SELECT recording_id, case_id, 3, source, author, language, model, text,"
                " segments, created_at, report FROM transcripts WHERE id = :id"
            ),
            {"id": ids[0]},
        )
    report = await verify(rig.core.db, rig.core.store)
    assert not report.ok
    failures = report.transcripts.failures
    assert len(failures) == 3, failures
    for tid in ids:
        assert any(f.startswith(f"transcript {tid} ") and "not those event" in f for f in failures)
    assert any("version 3" in f and "no transcript.created" in f for f in failures)
