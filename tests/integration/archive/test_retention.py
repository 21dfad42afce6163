"""The retention report on both databases, through the API and the page: a category
kept for one year, cases opened years ago, one preserved; who may read it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hotline.archive import preservation
from hotline.config import Settings
from hotline.store.tables import Case, CaseStatus
from hotline.store.types import utcnow
from tests.support.web_data import open_case
from tests.support.web_server import ROLES, WebRig, hotline_core, serve_web


@pytest.fixture
async def rig(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[WebRig]:
    settings = make_settings(database_url=db_url, retention_categories="迟报统计资料=1")
    async with hotline_core(settings) as core, serve_web(core) as web_rig:
        for role in ROLES:
            await web_rig.add_user(role, role)
        yield web_rig


async def _opened(rig: WebRig, tmp_path: Path, seed: int, category: str, ago: timedelta) -> Case:
    return await open_case(
        rig.core,
        tmp_path,
        seed=seed,
        fields={"category": category, "created_at": utcnow() - ago, "status": CaseStatus.DRAFT},
    )


async def test_due_and_preserved_cases_of_a_one_year_category(rig: WebRig, tmp_path: Path) -> None:
    year = timedelta(days=365)
    due = await _opened(rig, tmp_path, 1, "late_reporting", 3 * year)
    soon = await _opened(rig, tmp_path, 2, "late_reporting", year - timedelta(days=20))
    kept_long = await _opened(rig, tmp_path, 3, "late_reporting", 4 * year)
    thirty = await _opened(rig, tmp_path, 4, "false_data", 3 * year)
    fresh = await _opened(rig, tmp_path, 5, "late_reporting", timedelta(days=30))
    async with rig.core.db.session() as s:
        case = await s.get(Case, kept_long.id)
        assert case is not None
        await preservation.mark(
            s, case, "party_objection", "信访", actor="user:handler", outbox=rig.core.outbox
        )

    head = await rig.sign_in("head")
    status, report, _ = await head.get("/api/retention?within=60")
    assert status == 200, report
    assert [e["number"] for e in report["due"]] == [due.number]
    assert report["due"][0]["years"] == 1 and report["due"][0]["days_left"] < -700
    assert [e["number"] for e in report["soon"]] == [soon.number]
    assert 0 < report["soon"][0]["days_left"] <= 21
    assert [e["number"] for e in report["preserved"]] == [kept_long.number]
    assert report["preserved"][0]["preservation_reason"] == "party_objection"
    assert report["counts"] == {"due": 1, "soon": 1, "preserved": 1, "kept": 2, "total": 5}
    assert report["deletes_nothing"] is True
    # Neither the 30-year case nor the fresh one is listed.
    listed = {e["number"] for key in ("due", "soon", "preserved") for e in report[key]}
    assert not listed & {thirty.number, fresh.number}

    # Next year, as of a given day: the fresh one is due too.
    as_of = (datetime.now(UTC) + 2 * year).date().isoformat()
    status, later, _ = await head.get(f"/api/retention?today={as_of}")
    assert {e["number"] for e in later["due"]} == {due.number, soon.number, fresh.number}

    auditor = await rig.sign_in("auditor")
    status, html, _ = await auditor.get("/retention?within=60")
    page = html.decode()
    assert status == 200 and due.number in page and kept_long.number in page
    assert "本系统不删除任何证据" in page and 'id="retention-due"' in page
    assert 'href="/retention"' in page  # in the auditor's navigation

    handler = await rig.sign_in("handler")
    assert (await handler.get("/api/retention"))[0] == 403
    assert (await handler.get("/retention"))[0] == 403
    status, body, _ = await head.get("/api/retention?within=-1")
    assert status == 400, body
    status, body, _ = await head.get("/api/retention?today=1")
    assert status == 400, body


async def test_a_state_case_is_listed_only_for_those_who_may_see_it(
    rig: WebRig, tmp_path: Path
) -> None:
    secret = await open_case(
        rig.core,
        tmp_path,
        seed=7,
        fields={
            "category": "late_reporting",
            "created_at": utcnow() - timedelta(days=800),
            "confidentiality": "state",
        },
    )
    head, auditor = await rig.sign_in("head"), await rig.sign_in("auditor")
    _, seen, _ = await head.get("/api/retention")
    assert [e["number"] for e in seen["due"]] == [secret.number]
    _, unseen, _ = await auditor.get("/api/retention")
    assert unseen["due"] == [] and unseen["counts"]["total"] == 0
    _, html, _ = await auditor.get("/retention")
    assert secret.number not in html.decode()
