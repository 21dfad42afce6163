"""Art. 18 on both databases: confidentiality levels set by the head with a reason; a
``state`` case seen only by the head and the handlers assigned to it (list, search,
API, event stream); the admin reads no content; a second role granted on purpose."""

from __future__ import annotations

from pathlib import Path

from aiohttp import ClientTimeout
from sqlmodel import col, select

from hotline.auth import users
from hotline.store.tables import AuditEvent
from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import WebRig
from tests.support.web_sse import EventReader


async def _actions(rig: WebRig, prefix: str) -> list[AuditEvent]:
    async with rig.core.db.session() as s:
        rows = (await s.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))).all()
    return [e for e in rows if e.action.startswith(prefix)]


async def test_a_state_case_is_seen_only_by_the_head_and_its_assigned_handlers(
    rig: WebRig, tmp_path: Path
) -> None:
    secret = await open_case(rig.core, tmp_path, seed=1, segments=ZH_SEGMENTS)
    plain = await open_case(rig.core, tmp_path, seed=2, segments=ZH_SEGMENTS)
    await rig.add_user("hd2", "handler")
    head, handler, other = (
        await rig.sign_in("head"),
        await rig.sign_in("handler"),
        await rig.sign_in("hd2"),
    )
    body = (await head.get(f"/api/cases/{secret.id}"))[1]
    assert body["confidentiality"] == "personal"  # every report's default

    path = f"/api/cases/{secret.id}/confidentiality"
    # A handler may not set the level; the head needs a reason and a known level.
    assert (await handler.request("PUT", path, json={"level": "state", "reason": "x1"}))[0] == 403
    assert (await head.request("PUT", path, json={"level": "state"}))[0] == 400
    assert (await head.request("PUT", path, json={"level": "secret", "reason": "ok"}))[0] == 400
    # Nor is the level an ordinary field of the case.
    status, refused, _ = await handler.request(
        "PATCH", f"/api/cases/{secret.id}", json={"confidentiality": "normal"}
    )
    assert status == 400 and "confidentiality" in str(refused)
    status, out, _ = await head.request(
        "PUT", path, json={"level": "state", "reason": "涉及国家秘密的统计资料"}
    )
    assert status == 200 and out == {"level": "state", "assignees": []}
    (event,) = await _actions(rig, "case.confidentiality_set")
    assert event.actor == "user:head" and event.case_id == secret.id
    assert event.details == {"from": "personal", "to": "state", "reason": "涉及国家秘密的统计资料"}

    async def listed(browser: object, query: str = "") -> set[int]:
        status, body, _ = await browser.get(f"/api/cases{query}")  # type: ignore[attr-defined]
        assert status == 200
        return {c["id"] for c in body["cases"]}

    # Unassigned: not in the list, not found by search, not found by id.
    for nobody in (handler, other, await rig.sign_in("auditor"), await rig.sign_in("admin")):
        assert await listed(nobody) == {plain.id}
        assert await listed(nobody, "?q=水泥厂") == {plain.id}
        for suffix in ("", "/transcript", "/recording", "/history"):
            assert (await nobody.get(f"/api/cases/{secret.id}{suffix}"))[0] == 404, suffix
        assert (await nobody.get(f"/cases/{secret.id}"))[0] == 404
        assert (await nobody.request("POST", f"/api/cases/{secret.id}/forward"))[0] in (403, 404)
    assert await listed(head, "?q=水泥厂") == {secret.id, plain.id}

    # Assigned: the handler sees it, the other handler still does not.
    status, out, _ = await head.request(
        "POST", f"/api/cases/{secret.id}/assignees", json={"username": "handler"}
    )
    assert status == 200 and [a["username"] for a in out["assignees"]] == ["handler"]
    bad = await head.request(
        "POST", f"/api/cases/{secret.id}/assignees", json={"username": "operator"}
    )
    assert bad[0] == 400  # an operator does not work on cases
    assert await listed(handler, "?q=水泥厂") == {secret.id, plain.id}
    assert (await handler.get(f"/api/cases/{secret.id}/transcript"))[0] == 200
    assert await listed(other) == {plain.id}

    # The event stream names a state case only to those who may see it.
    async def first_case_event(browser: object) -> int:
        async with browser.http.get(  # type: ignore[attr-defined]
            browser.base + "/api/events",  # type: ignore[attr-defined]
            timeout=ClientTimeout(total=30, sock_read=20),
        ) as stream:
            reader = EventReader(stream)
            assert (await reader.next())[0] == "snapshot"
            rig.core.live.publish("case", {"id": secret.id, "status": "draft"})
            rig.core.live.publish("case", {"id": plain.id, "status": "draft"})
            data = await reader.until("case")
            return int(data["id"])

    assert await first_case_event(other) == plain.id
    assert await first_case_event(handler) == secret.id
    assert await first_case_event(head) == secret.id

    # The assignment ends: the handler loses the case again; both acts are audited.
    status, out, _ = await head.request("DELETE", f"/api/cases/{secret.id}/assignees/handler")
    assert status == 200 and out["assignees"] == []
    assert (await handler.get(f"/api/cases/{secret.id}"))[0] == 404
    assert [e.action for e in await _actions(rig, "case.") if "assign" in e.action] == [
        "case.assigned",
        "case.unassigned",
    ]


async def test_the_admin_runs_the_installation_without_reading_content(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=3, segments=ZH_SEGMENTS)
    admin = await rig.sign_in("admin")
    assert (await admin.get(f"/api/cases/{case.id}/recording"))[0] == 403
    assert (await admin.get(f"/api/cases/{case.id}/transcript"))[0] == 403
    status, body, _ = await admin.get(f"/api/cases/{case.id}")
    assert status == 200 and body["transcript"] is None and body["caller"]["masked"]
    assert (await admin.request("POST", f"/api/cases/{case.id}/unmask", json={"reason": "ab"}))[
        0
    ] == 403
    status, me, _ = await admin.get("/api/session")
    assert "content.read" not in me["permissions"] and me["roles"] == ["admin"]

    # An installation that wants the old behaviour grants the admin a second role.
    await users.set_role(rig.core.db, "admin", "head", granted=True, actor="cli:root")
    assert (await admin.get("/api/session"))[0] == 401  # the grant ended the session
    admin = await rig.sign_in("admin")
    status, me, _ = await admin.get("/api/session")
    assert me["roles"] == ["admin", "head"] and "copies.approve" in me["permissions"]
    assert (await admin.get(f"/api/cases/{case.id}/recording"))[0] == 200
    await users.set_role(rig.core.db, "admin", "head", granted=False, actor="cli:root")
    admin = await rig.sign_in("admin")
    assert (await admin.get(f"/api/cases/{case.id}/recording"))[0] == 403
    actions = [e.action for e in await _actions(rig, "user.role")]
    assert actions == ["user.role_granted", "user.role_revoked"]
