"""Disc archives on both databases: what each volume holds (every transcript version,
the case's audit events with their hashes), the chain head and checkpoint it names,
the audit event that records it, and refusals that leave nothing behind."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from hotline.archive import disc_verify, discs, preservation
from hotline.archive.iso import Image
from hotline.config import Settings
from hotline.errors import EvidenceError, InputError
from hotline.evidence.hashing import sha256_file
from hotline.evidence.keys import InstallationKey
from hotline.service import Hotline
from hotline.store.tables import AuditEvent, Case, Recording, Transcript
from hotline.store.types import utcnow
from tests.support.web_data import ZH_SEGMENTS, open_case
from tests.support.web_server import hotline_core


@pytest.fixture
async def core(db_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Hotline]:
    async with hotline_core(make_settings(database_url=db_url)) as hotline:
        yield hotline


async def _corrected(core: Hotline, case: Case) -> None:
    async with core.db.session() as s:
        v1 = (await s.exec(select(Transcript).where(col(Transcript.case_id) == case.id))).one()
        segments = [dict(seg) for seg in v1.segments]
        segments[2]["text"] = "金河水泥厂统计造假，虚报产值三千万元。"
        s.add(
            Transcript(
                recording_id=v1.recording_id,
                case_id=v1.case_id,
                version=2,
                source="correction",
                author="user:handler",
                language="zh",
                text="".join(seg["text"] for seg in segments),
                segments=segments,
                supersedes_id=v1.id,
            )
        )


async def test_a_volume_holds_the_whole_record_of_its_cases(core: Hotline, tmp_path: Path) -> None:
    first = await open_case(core, tmp_path, seed=1, segments=ZH_SEGMENTS)
    await _corrected(core, first)
    second = await open_case(core, tmp_path, seed=2)
    async with core.db.session() as s:
        row = await s.get(Case, second.id)
        assert row is not None
        await preservation.mark(s, row, "mass_incident", "", actor="user:li", outbox=core.outbox)

    archive = await discs.create(
        core,
        discs.Selection(cases=(first.number, str(second.id))),
        media="dvd",
        out=tmp_path / "out",
        actor="cli:test",
    )
    (image,) = archive.images
    assert image.cases == (first.number, second.number) and (image.number, image.of) == (1, 1)
    assert image.path.name == "HLA0001V01.iso"
    assert (image.sha256, image.size) == sha256_file(image.path)

    async with core.db.session() as s:
        checkpoint = await s.get(AuditEvent, archive.chain_head["seq"])
        recorded = (
            await s.exec(select(AuditEvent).where(col(AuditEvent.action) == "archive.created"))
        ).one()
        events = {e.seq: e for e in (await s.exec(select(AuditEvent))).all()}
    assert checkpoint is not None and checkpoint.action == "audit.checkpoint"
    assert recorded.seq == archive.event_seq and recorded.actor == "cli:test"
    assert recorded.details["images"][0]["sha256"] == image.sha256

    with Image(image.path) as iso:
        assert iso.volume_label == "HLA0001V01"
        _, manifest = disc_verify.read_manifest(iso)
        assert disc_verify.check(iso, say=lambda _: None) == []
        files = set(iso.files())
        top = first.number
        assert {f"{top}/转写/{p}" for p in ("1-v1.json", "1-v2.json")} <= files
        with iso.open(f"{top}/转写/1-v2.json") as fh:
            assert "三千万元" in json.load(fh)["text"]
        with iso.open(f"{top}/案件.json") as fh:
            assert json.load(fh)["number"] == top
        with iso.open(f"{second.number}/审计记录.jsonl") as fh:
            lines = [json.loads(line) for line in fh.read().decode().splitlines()]
    assert manifest["chain"]["head"] == archive.chain_head
    assert manifest["chain"]["checkpoint"]["event_seq"] == checkpoint.seq
    assert manifest["cases"] == [first.number, second.number]
    assert {"case.opened", "case.preservation_marked"} <= {e["action"] for e in lines}
    for event in lines:
        assert event["seq"] <= checkpoint.seq
        assert disc_verify.event_hash(event) == event["hash"] == events[event["seq"]].hash

    listed = await _listed(core)
    assert [a.label for a in listed] == ["HLA0001"]
    assert listed[0].images[0].sha256 == image.sha256
    check = discs.check_image(image.path, core.key.public, listed)
    assert check.ok, check.problems
    assert check.recorded is not None and check.recorded.startswith("volume 1 of 1 of archive")
    stranger = InstallationKey.load_or_create(tmp_path / "stranger.pem")
    foreign = discs.check_image(image.path, stranger.public, listed)
    assert foreign.problems[0].startswith("BADSIG   MANIFEST.json.sig: the manifest is not")


async def _listed(core: Hotline) -> list[discs.Archive]:
    async with core.db.session() as s:
        return await discs.archives(s)


@pytest.mark.parametrize("row_too", [False, True], ids=["bytes", "bytes-and-row"])
async def test_a_recording_that_no_longer_matches_its_seal_stops_the_archive(
    core: Hotline, tmp_path: Path, row_too: bool
) -> None:
    """A byte changed on disk; and the same with the row's hash rewritten to match it,
    which the chain's seal still tells apart."""
    case = await open_case(core, tmp_path, seed=3)
    async with core.db.session() as s:
        rec = (await s.exec(select(Recording))).one()
        sealed_sha = rec.sha256
        sealed = core.store.path_of(rec.stored_path)
        sealed.chmod(0o644)
        data = bytearray(sealed.read_bytes())
        data[5000] ^= 0xFF
        sealed.write_bytes(bytes(data))
        if row_too:
            rec.sha256, _ = sha256_file(sealed)
            s.add(rec)
    out = tmp_path / "out"
    expected = (
        r"no longer says what its recording\.sealed event"
        if row_too
        else f"reads back as .* sealed as {sealed_sha}"
    )
    with pytest.raises(EvidenceError, match=expected):
        await discs.create(
            core, discs.Selection(cases=(case.number,)), media="cd", out=out, actor="cli:test"
        )
    assert list(out.iterdir()) == []
    assert await _listed(core) == []


async def test_selections_and_refusals(core: Hotline, tmp_path: Path) -> None:
    old = await open_case(
        core, tmp_path, seed=4, fields={"created_at": utcnow() - timedelta(days=40)}
    )
    new = await open_case(core, tmp_path, seed=5)
    out = tmp_path / "out"
    with pytest.raises(InputError, match="no case to archive"):
        await discs.create(core, discs.Selection(preserved=True), media="dvd", out=out, actor="t")
    with pytest.raises(InputError, match="unknown media"):
        await discs.create(core, discs.Selection(preserved=True), media="tape", out=out, actor="t")
    since = (utcnow() - timedelta(days=2)).astimezone(core.settings.tz).date()
    archive = await discs.create(
        core, discs.Selection(since=since), media="dvd", out=out, actor="t"
    )
    assert archive.images[0].cases == (new.number,) and old.number not in archive.images[0].cases
    assert archive.selection == {"since": since.isoformat()}
    # The same place twice: the first image is never replaced.
    again = await discs.create(
        core, discs.Selection(cases=(old.number,)), media="dvd", out=out, actor="t"
    )
    assert again.label == "HLA0002" and again.images[0].path.name == "HLA0002V01.iso"
    (out / "HLA0003V01.iso").write_bytes(b"something else")
    with pytest.raises(InputError, match="exists already"):
        await discs.create(
            core, discs.Selection(cases=(old.number,)), media="dvd", out=out, actor="t"
        )
    assert (out / "HLA0003V01.iso").read_bytes() == b"something else"
