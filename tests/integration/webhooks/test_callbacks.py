"""Callbacks from the case system: signed like our webhooks; anything else changes nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import ClientSession, web
from sqlmodel import select
from standardwebhooks.webhooks import Webhook

from hotline.store.tables import AuditEvent, Case, CaseStatus
from hotline.web.app import make_app
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.rig import Rig


@pytest.fixture
async def api(rig: Rig) -> AsyncIterator[str]:
    runner = web.AppRunner(make_app(rig.core))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/api/integrations/callback"
    await runner.cleanup()


def _signed(
    secret: str, msg_id: str, body: dict[str, object], when: datetime | None = None
) -> tuple[str, dict[str, str]]:
    text = json.dumps(body)
    at = when or datetime.now(UTC)
    return text, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, text),
        "content-type": "application/json",
    }


async def _case(rig: Rig, tmp_path: Path, *, forwarded: bool = True, name: str = "c.wav") -> Case:
    src = tmp_path / name
    shutil.copyfile(MIXMONITOR_SAMPLE, src)
    case = (await rig.core.intake.ingest_file(src, caller="1")).case
    assert case.forwarded_at is not None  # forwarded as it opened (HOTLINE_FORWARD=auto)
    if not forwarded:  # as a case is where forwarding is manual and nobody sent it yet
        async with rig.core.db.session() as s:
            row = await s.get(Case, case.id)
            assert row is not None
            row.status, row.forwarded_at = CaseStatus.DRAFT, None
            s.add(row)
    return case


async def _reload(rig: Rig, case_id: int | None) -> Case:
    async with rig.core.db.session() as s:
        case = await s.get(Case, case_id)
        assert case is not None
        return case


async def test_a_signed_callback_updates_the_case_and_is_audited(
    rig: Rig, api: str, tmp_path: Path
) -> None:
    case = await _case(rig, tmp_path)
    body = {
        "type": "case.status",
        "data": {
            "case": case.number,
            "external_number": "TJ-2026-0042",
            "status": "accepted",
            "stage": "立案",
        },
    }
    text, headers = _signed(rig.receiver.secret, "msg_cb_1", body)
    async with ClientSession() as http, http.post(api, data=text, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
    assert answer["case"] == case.number and answer["status"] == "accepted"
    after = await _reload(rig, case.id)
    assert (after.external_number, after.external_status, after.external_stage) == (
        "TJ-2026-0042",
        "accepted",
        "立案",
    )
    assert after.status == "accepted"
    async with rig.core.db.session() as s:
        (audit,) = (
            await s.exec(select(AuditEvent).where(AuditEvent.action == "case.external_update"))
        ).all()
    assert audit.case_id == case.id and audit.details["webhook_id"] == "msg_cb_1"
    assert audit.actor.startswith("case-system:")


@pytest.mark.parametrize(
    "attack",
    [
        "bad-signature",
        "old-timestamp",
        "replay",
        "no-headers",
        "signature-without-comma",
        "signature-not-base64",
        "body-not-utf8",
    ],
)
async def test_forged_old_or_replayed_callbacks_are_refused(
    rig: Rig, api: str, tmp_path: Path, attack: str
) -> None:
    case = await _case(rig, tmp_path)
    secret = rig.receiver.secret
    first = {"data": {"case": case.number, "stage": "调查取证"}}
    evil = {"data": {"case": case.number, "status": "rejected", "external_number": "FAKE"}}
    async with ClientSession() as http:
        if attack == "replay":
            text, headers = _signed(secret, "msg_cb_replay", first)
            async with http.post(api, data=text, headers=headers) as resp:
                assert resp.status == 200
            text, headers = _signed(secret, "msg_cb_replay", evil)
        elif attack == "bad-signature":
            other = "whsec_" + "QUFB" * 8
            text, headers = _signed(other, "msg_cb_x", evil)
        elif attack == "old-timestamp":
            text, headers = _signed(
                secret, "msg_cb_y", evil, datetime.now(UTC) - timedelta(minutes=10)
            )
        elif attack == "signature-without-comma":
            text, headers = _signed(secret, "msg_cb_z", evil)
            headers["webhook-signature"] = "v1"
        elif attack == "signature-not-base64":
            text, headers = _signed(secret, "msg_cb_w", evil)
            headers["webhook-signature"] = "v1,***"
        elif attack == "body-not-utf8":
            text, headers = _signed(secret, "msg_cb_v", evil)
            text = text.encode() + b"\xff"  # type: ignore[assignment]
        else:
            text, headers = json.dumps(evil), {"content-type": "application/json"}
        async with http.post(api, data=text, headers=headers) as resp:
            assert resp.status == 401
            assert "refused" in (await resp.json())["error"]
    after = await _reload(rig, case.id)
    assert after.status != "rejected" and after.external_number != "FAKE"


async def test_malformed_or_unknown_case_callbacks(rig: Rig, api: str, tmp_path: Path) -> None:
    case = await _case(rig, tmp_path)
    draft = await _case(rig, tmp_path, forwarded=False, name="another.wav")
    async with ClientSession() as http:
        text, headers = _signed(
            rig.receiver.secret, "msg_cb_a", {"data": {"case": "HL-1999-000009"}}
        )
        async with http.post(api, data=text, headers=headers) as resp:
            assert resp.status == 404
        text, headers = _signed(rig.receiver.secret, "msg_cb_b", {"nothing": True})
        async with http.post(api, data=text, headers=headers) as resp:
            assert resp.status == 400
        text, headers = _signed(
            rig.receiver.secret, "msg_cb_c", {"data": {"case": "HL-1", "status": "maybe"}}
        )
        async with http.post(api, data=text, headers=headers) as resp:
            assert resp.status == 400
        text, headers = _signed(
            rig.receiver.secret, "msg_cb_d", {"data": {"case": case.number, "stage": "bogus"}}
        )
        async with http.post(api, data=text, headers=headers) as resp:
            assert resp.status == 400 and "立案" in (await resp.json())["error"]
        # An internal id, and a case never sent: neither is the case system's to change.
        for msg, ref in (("msg_cb_e", str(case.id)), ("msg_cb_f", draft.number)):
            text, headers = _signed(
                rig.receiver.secret, msg, {"data": {"case": ref, "status": "accepted"}}
            )
            async with http.post(api, data=text, headers=headers) as resp:
                assert resp.status == 404, ref
    assert (await _reload(rig, draft.id)).status == "draft"
