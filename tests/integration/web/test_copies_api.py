"""Copy requests through the API on both databases: four eyes, nothing issued without
approval (and trying is audited), no copy of a state case; the issued ZIP redacted,
signed, and checked by ``verify`` and by the stock tools its VERIFY.txt names."""

from __future__ import annotations

import hashlib
import io
import shlex
import subprocess
import wave
import zipfile
from pathlib import Path

import numpy as np
from sqlmodel import col, select

from hotline.custody import bundle
from hotline.store.tables import AuditEvent
from tests.support.web_data import open_case
from tests.support.web_server import WebRig

ID = "11010519491231002X"
MOBILE = "159 1234 5678"
SEGMENTS = [
    {
        "start": 0.0,
        "end": 2.0,
        "text": f"我叫王小明，身份证{ID}。",
        "speaker": "caller",
        "words": [
            {"start": 0.0, "end": 0.8, "word": "我叫王小明，"},
            {"start": 0.8, "end": 1.1, "word": "身份证"},
            {"start": 1.1, "end": 1.9, "word": ID + "。"},
        ],
    },
    {
        "start": 2.0,
        "end": 4.0,
        "text": f"电话{MOBILE}，金河水泥厂。",
        "speaker": "caller",
        "words": [
            {"start": 2.0, "end": 2.3, "word": "电话"},
            {"start": 2.3, "end": 3.2, "word": MOBILE + "，"},
            {"start": 3.2, "end": 4.0, "word": "金河水泥厂。"},
        ],
    },
]
REQUEST = {
    "party_name": "王小明",
    "party_id_type": "resident_id",
    "party_id_number": ID,
    "purpose": "申请行政复议",
}


async def _actions(rig: WebRig) -> list[AuditEvent]:
    async with rig.core.db.session() as s:
        return list((await s.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))).all())


def stock_tools(folder: Path) -> list[int]:
    """Exactly the commands VERIFY.txt tells a recipient to run; their exit codes."""
    text = (folder / "VERIFY.txt").read_text()
    commands = [line.strip() for line in text.splitlines() if line.startswith("  sha256sum")]
    commands += [line.strip() for line in text.splitlines() if line.startswith("  openssl pkeyu")]
    assert len(commands) == 2, text
    return [
        subprocess.run(shlex.split(c), cwd=folder, capture_output=True, timeout=30).returncode
        for c in commands
    ]


async def test_four_eyes_approval_then_a_signed_redacted_copy(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(
        rig.core,
        tmp_path,
        seed=1,
        segments=SEGMENTS,
        fields={"reporter_name": "王小明", "entity_credit_code": "91350100M000100Y43"},
    )
    handler, head = await rig.sign_in("handler"), await rig.sign_in("head")
    bad = await handler.request(
        "POST", f"/api/cases/{case.id}/copies", json={**REQUEST, "party_id_number": "1101"}
    )
    assert bad[0] == 400
    past_the_end = {**REQUEST, "range_start": 80000, "range_end": 86400}
    status, body, _ = await handler.request(
        "POST", f"/api/cases/{case.id}/copies", json=past_the_end
    )
    assert status == 400 and "nothing of it would be in the copy" in body["error"], body
    full_without_reason = {**REQUEST, "full": True}
    assert (
        await handler.request("POST", f"/api/cases/{case.id}/copies", json=full_without_reason)
    )[0] == 400
    status, req, _ = await handler.request("POST", f"/api/cases/{case.id}/copies", json=REQUEST)
    assert status == 201, req
    assert req["number"] == f"{case.number}-C01" and req["status"] == "requested"
    assert req["party_id_number"] == "110***********002X" and req["redacted"] is True
    rid = req["id"]

    # Not issued before approval; the requester cannot approve; both attempts audited.
    status, body, _ = await handler.request("POST", f"/api/copies/{rid}/issue")
    assert status == 409 and "requested cannot be issued" in body["error"]
    status, body, _ = await handler.request("POST", f"/api/copies/{rid}/approve", json={})
    assert status == 403
    assert (await head.request("POST", f"/api/copies/{rid}/refuse", json={"comment": ""}))[0] == 400
    # A head who records a request cannot decide it either (four eyes, by person).
    own = (await head.request("POST", f"/api/cases/{case.id}/copies", json=REQUEST))[1]
    status, body, _ = await head.request("POST", f"/api/copies/{own['id']}/approve", json={})
    assert status == 403 and "four eyes" in body["error"]
    denied = [e for e in await _actions(rig) if e.action == "copy.denied"]
    assert [d.details["step"] for d in denied] == ["issue", "refuse", "approve"]
    assert ID not in str([e.details for e in await _actions(rig)])  # never in the chain

    status, req, _ = await head.request(
        "POST", f"/api/copies/{rid}/approve", json={"comment": "同意，按规定删除个人信息"}
    )
    assert status == 200 and req["status"] == "approved" and req["decided_by"] == "head"
    status, req, _ = await handler.request("POST", f"/api/copies/{rid}/issue")
    assert status == 200 and req["status"] == "issued", req
    assert (await handler.request("POST", f"/api/copies/{rid}/issue"))[0] == 409
    status, data, resp = await handler.get(f"/api/copies/{rid}/download")
    assert status == 200 and resp.headers["Content-Type"] == "application/zip"
    assert hashlib.sha256(data).hexdigest() == req["zip_sha256"]
    actions = [e.action for e in await _actions(rig) if e.action.startswith("copy.")]
    assert actions[-4:] == ["copy.approved", "copy.issued", "copy.denied", "copy.downloaded"]

    checked = bundle.verify(io.BytesIO(data), fingerprint=rig.core.key.fingerprint)
    assert checked.ok, checked.problems
    manifest = checked.manifest
    assert manifest is not None and manifest["copy"] == req["number"]
    assert manifest["approval"]["by"] == "head" and manifest["request"]["requested_by"] == "handler"
    (rec,) = [f for f in manifest["files"] if f["kind"] == "recording"]
    async with rig.core.db.session() as s:
        from hotline.store.tables import Recording

        original = await s.get(Recording, 1)
    assert original is not None and rec["original_sha256"] == original.sha256
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        transcript = z.read("transcript.txt").decode()
        wav = z.read("recording-1.wav")
        summary = z.read("summary.txt").decode()
    assert req["number"] in transcript and req["number"].encode() in wav  # traceable
    assert ID not in transcript and "15912345678" not in transcript.replace(" ", "")
    assert "王小明" not in transcript and "［居民身份证号码］" in transcript
    assert "［手机号码］" in transcript and "金河水泥厂" in transcript
    assert case.number in summary and "91350100M000100Y43" in summary and "王小明" not in summary
    # The words of the name, the ID and the mobile are tones.
    kinds = {(r["kind"], r.get("file")) for r in manifest["redactions"]}
    assert {("resident_id", "recording-1.wav"), ("mobile", "recording-1.wav")} <= kinds
    with wave.open(str(rig.core.store.path_of(original.stored_path))) as w:
        original_samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    with wave.open(io.BytesIO(wav)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        assert w.getframerate() == 8000 and w.getnframes() == original.duration * 8000
    bleeped = samples[int(1.2 * 8000) : int(1.8 * 8000)]
    peak = np.fft.rfftfreq(len(bleeped), 1 / 8000)[np.argmax(np.abs(np.fft.rfft(bleeped)))]
    assert peak == 1000
    # After the last bleep (3.2 s + 0.25 s), the original samples, untouched.
    assert np.array_equal(samples[int(3.5 * 8000) :], original_samples[int(3.5 * 8000) :])
    assert not np.array_equal(samples[: int(3.4 * 8000)], original_samples[: int(3.4 * 8000)])

    # The stock tools agree; one flipped byte anywhere, or an edited manifest, fails both.
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(folder)
    assert stock_tools(folder) == [0, 0]
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        for where in (0, 0.5, -1):
            tampered = tmp_path / f"t-{name}-{where}"
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                z.extractall(tampered)
            target = tampered / name
            raw = bytearray(target.read_bytes())
            at = int(len(raw) * where) if where != -1 else len(raw) - 1
            raw[at] ^= 0x01
            target.chmod(0o644)
            target.write_bytes(bytes(raw))
            assert any(code != 0 for code in stock_tools(tampered)), (name, where)
            repacked = io.BytesIO()
            with zipfile.ZipFile(repacked, "w") as z:
                for path in sorted(tampered.iterdir()):
                    z.write(path, path.name)
            assert not bundle.verify(io.BytesIO(repacked.getvalue())).ok, (name, where)


async def test_no_copy_of_a_state_case_and_a_full_copy_needs_its_reason(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=2, segments=SEGMENTS)
    handler, head = await rig.sign_in("handler"), await rig.sign_in("head")
    status, req, _ = await handler.request(
        "POST",
        f"/api/cases/{case.id}/copies",
        json={**REQUEST, "full": True, "full_reason": "本人申请本人信息", "what": ["transcript"]},
    )
    assert status == 201 and req["redacted"] is False and req["what"] == ["transcript"]
    await head.request(
        "PUT",
        f"/api/cases/{case.id}/confidentiality",
        json={"level": "state", "reason": "定为国家秘密"},
    )
    await head.request("POST", f"/api/cases/{case.id}/assignees", json={"username": "handler"})
    status, body, _ = await head.request("POST", f"/api/copies/{req['id']}/approve", json={})
    assert status == 409 and "state secrets" in body["error"]
    assert (await handler.request("POST", f"/api/copies/{req['id']}/issue"))[0] == 409
    # Back to personal: the full transcript copy is approved and carries the ID whole.
    await head.request(
        "PUT",
        f"/api/cases/{case.id}/confidentiality",
        json={"level": "personal", "reason": "解密"},
    )
    assert (await head.request("POST", f"/api/copies/{req['id']}/approve", json={}))[0] == 200
    status, req, _ = await handler.request("POST", f"/api/copies/{req['id']}/issue")
    assert status == 200, req
    data = (await handler.get(f"/api/copies/{req['id']}/download"))[1]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        assert ID in z.read("transcript.txt").decode()
    assert "recording-1.wav" not in names and "transcript.json" in names
    # Revoked: no more downloads, the copy kept.
    status, req, _ = await head.request(
        "POST", f"/api/copies/{req['id']}/revoke", json={"comment": "当事人撤回申请"}
    )
    assert status == 200 and req["status"] == "revoked"
    assert (await handler.get(f"/api/copies/{req['id']}/download"))[0] == 409
    assert rig.core.copies.path_of_name(req["zip_name"]).exists()


async def test_an_original_that_no_longer_matches_its_seal_makes_no_copy(
    rig: WebRig, tmp_path: Path
) -> None:
    from hotline.store.tables import Recording

    case = await open_case(rig.core, tmp_path, seed=3, segments=SEGMENTS)
    handler, head = await rig.sign_in("handler"), await rig.sign_in("head")
    req = (await handler.request("POST", f"/api/cases/{case.id}/copies", json=REQUEST))[1]
    assert (await head.request("POST", f"/api/copies/{req['id']}/approve", json={}))[0] == 200
    async with rig.core.db.session() as s:
        original = (
            await s.exec(select(Recording).where(col(Recording.call_id) == case.call_id))
        ).one()
    sealed = rig.core.store.path_of(original.stored_path)
    raw = bytearray(sealed.read_bytes())
    mode = sealed.stat().st_mode
    sealed.chmod(0o644)
    raw[-100] ^= 0x40  # one sample changed behind the store's back
    sealed.write_bytes(bytes(raw))
    try:
        status, body, _ = await handler.request("POST", f"/api/copies/{req['id']}/issue")
        assert status == 409 and "no longer matches its seal" in body["error"], body
        assert "hotline verify" in body["error"]
        failed = [e for e in await _actions(rig) if e.action == "copy.failed"]
        assert len(failed) == 1 and failed[0].actor == "user:handler"
        assert failed[0].details["number"] == req["number"]
        assert "no longer matches its seal" in failed[0].details["reason"]
        after = (await handler.get(f"/api/copies/{req['id']}"))[1]
        assert after["status"] == "approved" and after["zip_name"] is None
        assert not list(rig.core.copies.directory.glob("*"))  # nothing half-made is left
    finally:
        raw[-100] ^= 0x40
        sealed.write_bytes(bytes(raw))
        sealed.chmod(mode)
    # The original restored (from a backup, say), the same request is issued.
    status, body, _ = await handler.request("POST", f"/api/copies/{req['id']}/issue")
    assert status == 200 and body["status"] == "issued"


async def test_terms_a_handler_marks_are_redacted_in_later_copies(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=4, segments=SEGMENTS)
    handler, head = await rig.sign_in("handler"), await rig.sign_in("head")
    marks_url = f"/api/cases/{case.id}/redaction-marks"
    for bad in ("", " 金", "……", "金河\n水泥", "x" * 201):
        status, body, _ = await handler.request("POST", marks_url, json={"term": bad})
        assert status == 400, (bad, body)
    for role in ("auditor", "admin", "operator"):
        other = await rig.sign_in(role)
        assert (await other.request("POST", marks_url, json={"term": "金河"}))[0] == 403, role
        assert (await other.get(marks_url))[0] == 403, role
    status, made, _ = await handler.request("POST", marks_url, json={"term": " 金河水泥厂 "})
    assert status == 201 and made["term"] == "金河水泥厂" and made["active"] is True
    assert made["occurrences"] == 1 and made["marked_by"] == "user:handler"
    again = (await head.request("POST", marks_url, json={"term": "金河水泥厂"}))[1]
    assert again["id"] == made["id"]  # one mark per term, whoever marks it again
    unused = (await handler.request("POST", marks_url, json={"term": "红星化工"}))[1]
    assert unused["occurrences"] == 0

    async def issue() -> dict[str, object]:
        req = (await handler.request("POST", f"/api/cases/{case.id}/copies", json=REQUEST))[1]
        assert (await head.request("POST", f"/api/copies/{req['id']}/approve", json={}))[0] == 200
        issued = (await handler.request("POST", f"/api/copies/{req['id']}/issue"))[1]
        data = (await handler.get(f"/api/copies/{req['id']}/download"))[1]
        checked = bundle.verify(io.BytesIO(data))
        assert checked.ok and checked.manifest is not None
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            text = z.read("transcript.txt").decode()
        return {"text": text, "manifest": checked.manifest, "issued": issued}

    first = await issue()
    assert "金河水泥厂" not in str(first["text"]) and "［已删除］" in str(first["text"])
    manifest = first["manifest"]
    assert isinstance(manifest, dict)
    bleeps = [r for r in manifest["redactions"] if r["kind"] == "marked" and "start" in r]
    # The word "金河水泥厂。" (3.2–4.0 s) is a tone, with the usual margin.
    assert [(b["start"], b["end"]) for b in bleeps] == [(2.95, 4.25)]

    status, withdrawn, _ = await handler.request("DELETE", f"{marks_url}/{made['id']}")
    assert status == 200 and withdrawn["active"] is False
    assert withdrawn["withdrawn_by"] == "user:handler"
    assert (await handler.request("DELETE", f"{marks_url}/99999"))[0] == 404
    listed = (await handler.get(marks_url))[1]["marks"]
    assert [(m["term"], m["active"]) for m in listed] == [("金河水泥厂", False), ("红星化工", True)]
    second = await issue()
    assert "金河水泥厂" in str(second["text"])  # withdrawn: the next copy keeps it

    events = await _actions(rig)
    marked = [e for e in events if e.action in ("redaction.marked", "redaction.withdrawn")]
    assert [e.action for e in marked] == [
        "redaction.marked",
        "redaction.marked",
        "redaction.withdrawn",
    ]
    assert "金河水泥厂" not in str([e.details for e in events])  # the term stays out
