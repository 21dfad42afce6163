"""Every endpoint, every role (and anonymous, and an API token): who is let in.

Denied means 401 for anonymous callers and 403 for a signed-in role without the
permission. Allowed means the answer the operation documents for this request: its
success status, unless ``ANSWERS`` names the documented error the row's request is
meant to get (a copy that does not exist, a stale version); whatever a permitted caller
gets must be one of the statuses the served OpenAPI document lists for the operation,
so a handler that breaks (500) fails the test. The table must name every operation the
app serves: a new endpoint without a row here fails this test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientTimeout

from hotline.calls import CallAnswered, CallStarted, RecordingStarted
from hotline.config import Settings
from hotline.store.types import utcnow
from hotline.web.app import ROUTE_TABLES
from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import ROLES, WebRig, hotline_core, serve_web

ALL = frozenset(ROLES)
READERS = ALL  # every role reads cases (operators their own)
HANDLING = frozenset({"handler", "supervisor", "head"})
CONTENT = HANDLING  # + the operator for the calls they took; never the admin
METADATA = HANDLING | {"auditor", "admin"}  # masked, without content
LIVE = frozenset({"operator", "supervisor", "head", "admin"})
INTAKE = frozenset({"operator"})
AUDIT = frozenset({"auditor", "supervisor", "head", "admin"})
HEAD = frozenset({"head"})
PUBLIC = "public"

# operation id -> (method, path, body, roles allowed). {other} is a case whose call
# another operator took; {own} the operator's own; {call} a live call.
MATRIX: dict[str, tuple[str, str, Any, frozenset[str] | str]] = {
    "health": ("GET", "/api/health", None, PUBLIC),
    "openapi": ("GET", "/api/openapi.json", None, PUBLIC),
    "sign_in": ("POST", "/api/session", {"username": "x", "password": "y"}, PUBLIC),
    "whoami": ("GET", "/api/session", None, ALL),
    "account": ("PATCH", "/api/account", {"language": "zh"}, ALL),
    "change_password": (
        "POST",
        "/api/account/password",
        {"current_password": "not it at all", "new_password": "0123456789abc"},
        ALL,
    ),
    "cases_index": ("GET", "/api/cases", None, READERS),
    "case_detail": ("GET", "/api/cases/{other}", None, METADATA),
    "case_update": ("PATCH", "/api/cases/{other}", {"entity_name": "金河水泥厂"}, HANDLING),
    "unmask": ("POST", "/api/cases/{other}/unmask", {"reason": "call back"}, HANDLING),
    "mark_preservation": (
        "POST",
        "/api/cases/{other}/preservation",
        {"reason": "other", "note": "the reporter asked for it"},
        HANDLING,
    ),
    "lift_preservation": (
        "POST",
        "/api/cases/{other}/preservation/lift",
        {"reason": "decided"},
        HEAD,
    ),
    "history": ("GET", "/api/cases/{other}/history", None, METADATA),
    "audit_trail": ("GET", "/api/audit", None, AUDIT),
    "retention_index": ("GET", "/api/retention", None, AUDIT),
    "recording": ("GET", "/api/cases/{other}/recording", None, CONTENT),
    "transcript": ("GET", "/api/cases/{other}/transcript", None, CONTENT),
    "correct_transcript": (
        "PUT",
        "/api/cases/{other}/transcript",
        {"base_version": 99, "segments": []},
        HANDLING,
    ),
    "transcript_versions": ("GET", "/api/cases/{other}/transcript/versions", None, CONTENT),
    "rerun_transcript": (
        "POST",
        "/api/cases/{other}/transcript/rerun",
        {"model": "not-offered"},
        HANDLING,
    ),
    "transcript_diff": ("GET", "/api/cases/{other}/transcript/diff?from=1&to=1", None, CONTENT),
    "live_calls": ("GET", "/api/calls/live", None, LIVE),
    "get_intake": ("GET", "/api/calls/{call}/intake", None, INTAKE),
    "put_intake": ("PUT", "/api/calls/{call}/intake", {"operator_notes": "note"}, INTAKE),
    "events": ("GET", "/api/events", None, READERS),
    "forward_case": ("POST", "/api/cases/{other}/forward", None, HANDLING),
    "case_system_callback": ("POST", "/api/integrations/callback", {"type": "x"}, PUBLIC),
    "download_recording": ("GET", "/api/recordings/{sha}/download?expires=1&sig=x", None, PUBLIC),
    "metrics": ("GET", "/metrics", None, AUDIT),
    "custody": ("GET", "/api/cases/{other}/confidentiality", None, METADATA),
    "set_confidentiality": (
        "PUT",
        "/api/cases/{other}/confidentiality",
        {"level": "personal", "reason": "the reporter is protected"},
        HEAD,
    ),
    "assign": ("POST", "/api/cases/{other}/assignees", {"username": "nobody"}, HEAD),
    "unassign": ("DELETE", "/api/cases/{other}/assignees/nobody", None, HEAD),
    "copies_index": ("GET", "/api/copies", None, HANDLING),
    "request_copy": ("POST", "/api/cases/{other}/copies", {"party_name": "x"}, HANDLING),
    "copy_detail": ("GET", "/api/copies/999", None, HANDLING),
    "approve_copy": ("POST", "/api/copies/999/approve", {}, HEAD),
    "refuse_copy": ("POST", "/api/copies/999/refuse", {"comment": "no"}, HEAD),
    "revoke_copy": ("POST", "/api/copies/999/revoke", {"comment": "no"}, HEAD),
    "issue_copy": ("POST", "/api/copies/999/issue", None, HANDLING),
    "download_copy": ("GET", "/api/copies/999/download", None, HANDLING),
    "redaction_marks": ("GET", "/api/cases/{other}/redaction-marks", None, HANDLING),
    "mark_term": ("POST", "/api/cases/{other}/redaction-marks", {"term": "金河水泥厂"}, HANDLING),
    "withdraw_mark": ("DELETE", "/api/cases/{other}/redaction-marks/999", None, HANDLING),
}

# The answer a permitted caller gets where the row's request is not meant to succeed
# (every other row: the operation's documented success status).
ANSWERS: dict[str, frozenset[int]] = {
    "sign_in": frozenset({401, 429}),  # a wrong password, then the throttle
    "change_password": frozenset({409}),  # not the current password: nothing changes
    "correct_transcript": frozenset({409}),  # base version 99 is not the latest
    "rerun_transcript": frozenset({400}),  # a model that is not offered: nothing queued
    "get_intake": frozenset({404}),  # nothing saved for the call yet
    # The operator saves the notes; the operator's token is not the person who took
    # the call, so its save conflicts.
    "put_intake": frozenset({200, 409}),
    "forward_case": frozenset({200, 409}),  # the first forwards it; then it was forwarded
    "case_system_callback": frozenset({401}),  # unsigned
    "download_recording": frozenset({403}),  # a made-up signature
    "assign": frozenset({404}),  # no user "nobody"
    "unassign": frozenset({404}),
    "request_copy": frozenset({400}),  # the party's identity is missing
    "copy_detail": frozenset({404}),  # no copy 999
    "approve_copy": frozenset({404}),
    "refuse_copy": frozenset({404}),
    "revoke_copy": frozenset({404}),
    "issue_copy": frozenset({404}),
    "download_copy": frozenset({404}),
    "withdraw_mark": frozenset({404}),  # no mark 999
}
TOKENLESS = {"account", "change_password"}  # a person's own account: tokens have none

# What the operator may do with the case of a call they took, and may not do with
# another's (the rows above use another's).
OWN_CASE = {
    "case_detail": ("GET", "/api/cases/{own}"),
    "history": ("GET", "/api/cases/{own}/history"),
    "recording": ("GET", "/api/cases/{own}/recording"),
    "transcript": ("GET", "/api/cases/{own}/transcript"),
    "transcript_versions": ("GET", "/api/cases/{own}/transcript/versions"),
}


@pytest.fixture
async def world(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> AsyncIterator[tuple[WebRig, dict[str, str]]]:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    async with hotline_core(settings) as core, serve_web(core) as rig:
        for role in ROLES:
            await rig.add_user(role, role)
        other = await open_case(
            core, tmp_path, seed=1, fields={"operator": "someone"}, segments=ZH_SEGMENTS
        )
        own = await open_case(
            core, tmp_path, seed=2, fields={"operator": "operator"}, segments=ZH_SEGMENTS
        )
        now = utcnow()
        await core.on_fact(CallStarted(call_id="live-1", source="sip", at=now, caller="1390000"))
        await core.on_fact(CallAnswered(call_id="live-1", at=now))
        await core.on_fact(RecordingStarted(call_id="live-1", at=now, name="live-1.wav"))
        async with core.db.session() as s:
            from hotline.store.tables import Recording

            rec = await s.get(Recording, 1)
            assert rec is not None
        values = {"other": str(other.id), "own": str(own.id), "call": "live-1", "sha": rec.sha256}
        yield rig, values


async def _documented(browser: Any) -> dict[str, set[int]]:
    """Operation id -> the statuses the served OpenAPI document lists for it."""
    status, spec, _ = await browser.get("/api/openapi.json")
    assert status == 200
    return {
        op["operationId"]: {int(code) for code in op["responses"]}
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


async def _status(browser: Any, method: str, path: str, body: Any) -> int:
    if path == "/api/events":  # a stream: the status line is the answer
        timeout = ClientTimeout(total=10)
        async with browser.http.get(
            browser.base + path, headers=browser._headers(None), timeout=timeout
        ) as resp:
            return int(resp.status)
    status, _, _ = await browser.request(method, path, json=body)
    return int(status)


async def test_every_endpoint_for_every_role(world: tuple[WebRig, dict[str, str]]) -> None:
    rig, values = world
    served = {op.operation_id for table in ROUTE_TABLES for op in table.operations}
    assert served == set(MATRIX) | {"sign_out"}, "every operation needs a row in the matrix"

    principals: dict[str, Any] = {"anonymous": rig.anonymous()}
    for role in ROLES:
        principals[role] = await rig.sign_in(role)
    principals["token:handler"] = rig.bearer(await rig.token("handler"))
    principals["token:operator"] = rig.bearer(await rig.token("operator"))

    documented = await _documented(principals["anonymous"])
    failures = []
    for op_id, (method, path, body, allowed) in MATRIX.items():
        expected = ANSWERS.get(op_id, frozenset({min(documented[op_id])}))
        assert expected <= documented[op_id], (op_id, expected, documented[op_id])
        path = path.format(**values)
        for who, browser in principals.items():
            role = who.removeprefix("token:")
            status = await _status(browser, method, path, body)
            if allowed == PUBLIC:
                # No credentials needed (a callback or link is checked by its
                # signature instead): the same answer whoever asks.
                ok = status in expected
            elif who == "anonymous":
                ok = status == 401
            elif role in allowed and op_id in TOKENLESS and who.startswith("token:"):
                ok = status == 403
            elif role in allowed:
                ok = status in expected
            else:
                ok = status == 403
            if not ok:
                failures.append(f"{op_id} {method} {path} as {who}: {status}")
    assert not failures, "\n".join(failures)

    # The operator's own call: readable, recording included; another's: refused.
    operator = principals["operator"]
    for op_id, (method, path) in OWN_CASE.items():
        own = await _status(operator, method, path.format(**values), None)
        other = await _status(operator, method, MATRIX[op_id][1].format(**values), None)
        assert own == 200 and other == 403, (op_id, own, other)

    # Sign-out last: it ends each session.
    for who, browser in principals.items():
        status = await _status(browser, "DELETE", "/api/session", None)
        assert status == (401 if who == "anonymous" else 200), who
