"""Long-term preservation flags (art. 20) through the API and the pages, on both
databases: who may flag, who may lift, what the audit chain keeps, the list filter."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from hotline.store.tables import AuditEvent, Case
from tests.support.web_data import open_case
from tests.support.web_server import WebRig


async def _events(rig: WebRig, case_id: int | None) -> list[AuditEvent]:
    async with rig.core.db.session() as s:
        rows = await s.exec(
            select(AuditEvent)
            .where(col(AuditEvent.case_id) == case_id)
            .where(col(AuditEvent.action).startswith("case.preservation"))
            .order_by(col(AuditEvent.seq))
        )
        return list(rows.all())


async def test_a_handler_flags_only_the_head_lifts_and_both_are_audited(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=1)
    path = f"/api/cases/{case.id}/preservation"
    handler = await rig.sign_in("handler")

    status, body, _ = await handler.request(
        "POST", path, json={"reason": "party_objection", "note": "申请人提出异议"}
    )
    assert status == 200, body
    assert body["changed"] is True
    assert body["preservation"]["reason"] == "party_objection"
    assert body["preservation"]["marked_by"] == "user:handler"

    # The same flag again changes nothing and leaves no second event.
    status, body, _ = await handler.request(
        "POST", path, json={"reason": "party_objection", "note": "申请人提出异议"}
    )
    assert (status, body["changed"]) == (200, False)

    # A handler cannot lift it, nor clear it by editing the case as the old checkbox allowed.
    status, body, _ = await handler.request("POST", path + "/lift", json={"reason": "结案"})
    assert status == 403, body
    status, body, _ = await handler.request(
        "PATCH", f"/api/cases/{case.id}", json={"long_term": False}
    )
    assert status == 400 and "flag of its own" in str(body), body
    status, body, _ = await handler.get(f"/api/cases/{case.id}")
    assert body["preservation"]["reason"] == "party_objection" and body["long_term"] is True

    head = await rig.sign_in("head")
    status, body, _ = await head.request("POST", path + "/lift", json={"reason": ""})
    assert status == 400, body
    status, body, _ = await head.request(
        "POST", path + "/lift", json={"reason": "复议期满，当事人撤回异议"}
    )
    assert status == 200, body
    assert body["preservation"] is None
    status, body, _ = await head.request("POST", path + "/lift", json={"reason": "again"})
    assert status == 400 and "not flagged" in body["error"], body

    marked, lifted = await _events(rig, case.id)
    assert (marked.action, marked.actor) == ("case.preservation_marked", "user:handler")
    assert marked.details == {
        "number": case.number,
        "reason": "party_objection",
        "note": "申请人提出异议",
    }
    assert (lifted.action, lifted.actor) == ("case.preservation_lifted", "user:head")
    assert lifted.details["reason"] == "复议期满，当事人撤回异议"
    assert lifted.details["flag"]["reason"] == "party_objection"
    async with rig.core.db.session() as s:
        row = await s.get(Case, case.id)
        assert row is not None and row.preservation_reason == ""


async def test_the_reasons_of_article_20_and_bad_input(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=2)
    path = f"/api/cases/{case.id}/preservation"
    supervisor = await rig.sign_in("supervisor")
    for body, reason in (
        ({"reason": "other"}, "needs a note"),
        ({"reason": "other", "note": " "}, "needs a note"),
        ({"reason": "because"}, "reason"),
        ({"reason": "obstruction", "note": "x" * 501}, "note"),
    ):
        status, answer, _ = await supervisor.request("POST", path, json=body)
        assert status == 400 and reason in str(answer), (body, answer)
    assert await _events(rig, case.id) == []

    for reason in ("obstruction", "mass_incident", "party_objection"):
        status, answer, _ = await supervisor.request("POST", path, json={"reason": reason})
        assert status == 200 and answer["preservation"]["reason"] == reason, answer
    status, answer, _ = await supervisor.request(
        "POST", path, json={"reason": "other", "note": "媒体关注"}
    )
    assert status == 200 and answer["preservation"]["note"] == "媒体关注"
    events = await _events(rig, case.id)
    assert [e.details.get("previous_reason") for e in events] == [
        None,
        "obstruction",
        "mass_incident",
        "party_objection",
    ]
    # Changing the reason keeps who flagged it first, and when.
    assert answer["preservation"]["marked_by"] == "user:supervisor"
    # Roles without the permission are refused.
    for role in ("operator", "auditor"):
        browser = await rig.sign_in(role)
        status, _, _ = await browser.request("POST", path, json={"reason": "obstruction"})
        assert status == 403, role


async def test_flagged_cases_show_a_badge_and_can_be_filtered(rig: WebRig, tmp_path: Path) -> None:
    kept = await open_case(rig.core, tmp_path, seed=3)
    plain = await open_case(rig.core, tmp_path, seed=4)
    handler = await rig.sign_in("handler")
    status, _, _ = await handler.request(
        "POST", f"/api/cases/{kept.id}/preservation", json={"reason": "mass_incident"}
    )
    assert status == 200

    async def numbers(query: str) -> list[str]:
        status, body, _ = await handler.get(f"/api/cases{query}")
        assert status == 200, body
        return [c["number"] for c in body["cases"]]

    assert await numbers("?preserved=true") == [kept.number]
    assert await numbers("?preserved=false") == [plain.number]
    assert await numbers("") == [plain.number, kept.number]

    status, html, _ = await handler.get("/cases?preserved=true")
    page = html.decode()
    assert status == 200 and kept.number in page and plain.number not in page
    assert 'class="badge keep"' in page and "长期保存" in page
    status, html, _ = await handler.get(f"/cases/{kept.id}")
    page = html.decode()
    assert 'id="preserved-badge"' in page and "群体性或者突发性事件" in page
    assert 'id="preservation-mark"' in page and 'id="preservation-lift"' not in page
    head = await rig.sign_in("head")
    status, html, _ = await head.get(f"/cases/{kept.id}")
    assert 'id="preservation-lift"' in html.decode()


async def test_verify_holds_each_flag_to_the_event_that_set_or_lifted_it(
    rig: WebRig, tmp_path: Path
) -> None:
    """A flag cleared (or set) in the database alone lets a case out of the preserved
    discs with nothing to show for it: ``hotline verify`` names the case."""
    from sqlalchemy import text

    from hotline.archive import preservation
    from hotline.evidence.verify import PRESERVATION_LIFTED, PRESERVATION_MARKED, verify

    assert (preservation.MARKED, preservation.LIFTED) == (PRESERVATION_MARKED, PRESERVATION_LIFTED)

    flagged = await open_case(rig.core, tmp_path, seed=2)
    other = await open_case(rig.core, tmp_path, seed=3)
    handler = await rig.sign_in("handler")
    status, _, _ = await handler.request(
        "POST",
        f"/api/cases/{flagged.id}/preservation",
        json={"reason": "party_objection", "note": "申请人提出异议"},
    )
    assert status == 200
    report = await verify(rig.core.db, rig.core.store)
    assert report.ok and report.preservation.checked == 2, report.failures

    async with rig.core.db.connection() as conn:
        await conn.execute(
            text("UPDATE cases SET preservation_reason = '' WHERE id = :id"), {"id": flagged.id}
        )
        await conn.execute(
            text("UPDATE cases SET preservation_reason = 'other' WHERE id = :id"), {"id": other.id}
        )
    report = await verify(rig.core.db, rig.core.store)
    assert not report.ok
    cleared, added = sorted(report.preservation.failures)
    assert cleared.startswith(f"case {flagged.number}: event ")
    assert "flagged (party_objection)" in cleared and "its row says not flagged" in cleared
    assert added.startswith(f"case {other.number} is flagged") and "no case.preservation" in added
