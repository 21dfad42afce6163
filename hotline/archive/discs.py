"""Disc archives (art. 20: "kept long-term by burning discs or similar"): what goes on
the discs, making the images, checking one, and the list of those made.

``create`` signs a checkpoint of the audit chain first, so every volume names the
chain head and the signed checkpoint it was made at; then it writes the images
(a case never split across discs) and records the archive as one audit event
(``archive.created``) with each image's SHA-256. Burning is the disc tool's job.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.archive import disc_verify
from hotline.archive.iso import Image, write_image
from hotline.archive.layout import (
    MANIFEST_ENTRY,
    SECTOR,
    CaseBundle,
    DiscFile,
    estimate,
    media_bytes,
    plan,
)
from hotline.archive.manifest import (
    MANIFEST,
    SIGNATURE,
    VolumeFacts,
    json_bytes,
    manifest,
    memory_file,
    signed,
    tools,
)
from hotline.cases import CaseView, case_json, get_case, load_views
from hotline.errors import EvidenceError, InputError
from hotline.evidence.audit import append_audit
from hotline.evidence.chain import canonical
from hotline.evidence.chain_verify import SEALED
from hotline.evidence.files import EvidenceStore
from hotline.evidence.hashing import sha256_file
from hotline.evidence.keys import PublicKey
from hotline.evidence.verify import ARCHIVE_ACTION
from hotline.store.tables import AuditEvent, Case, Transcript
from hotline.store.types import utcnow

if TYPE_CHECKING:
    from hotline.service import Hotline

CASE_FILE = "案件.json"
AUDIT_FILE = "审计记录.jsonl"
RECORDINGS = "录音"
TRANSCRIPTS = "转写"


@dataclass(frozen=True, slots=True)
class Selection:
    """Which cases: the preserved ones, named ones, or those opened since a day."""

    preserved: bool = False
    cases: tuple[str, ...] = ()
    since: date | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.cases:
            return {"cases": list(self.cases)}
        if self.since is not None:
            return {"since": self.since.isoformat()}
        return {"preserved": True}


async def select_cases(session: AsyncSession, selection: Selection, tz: Any) -> list[Case]:
    if selection.cases:
        found = {}
        for ref in selection.cases:
            case = await get_case(session, ref)
            found[case.id] = case
        return sorted(found.values(), key=lambda c: c.id or 0)
    query = select(Case).order_by(col(Case.id))
    if selection.since is not None:
        start = datetime.combine(selection.since, time(0), tzinfo=tz)
        query = query.where(col(Case.created_at) >= start)
    else:
        query = query.where(col(Case.preservation_reason) != "")
    return list((await session.exec(query)).all())


def event_json(ev: AuditEvent) -> dict[str, Any]:
    """An audit event as the disc keeps it: enough to recompute its hash."""
    body = json.loads(
        canonical(
            seq=ev.seq,
            at=ev.at,
            actor=ev.actor,
            action=ev.action,
            subject=ev.subject,
            case_id=ev.case_id,
            details=ev.details,
        )
    )
    return {**body, "prev_hash": ev.prev_hash, "hash": ev.hash}


async def bundle(session: AsyncSession, view: CaseView, head_seq: int) -> CaseBundle:
    """The case's files: the case, its audit events up to ``head_seq``, its sealed
    recordings and every version of every transcript."""
    case = view.case
    top = case.number
    files = [memory_file(f"{top}/{CASE_FILE}", json_bytes(case_json(view)), "case")]
    events = (
        await session.exec(
            select(AuditEvent)
            .where(
                or_(
                    col(AuditEvent.case_id) == case.id,
                    col(AuditEvent.subject) == f"call:{view.call.id}",
                )
            )
            .where(col(AuditEvent.seq) <= head_seq)
            .order_by(col(AuditEvent.seq))
        )
    ).all()
    lines = "".join(
        json.dumps(event_json(ev), ensure_ascii=False, separators=(",", ":")) + "\n"
        for ev in events
    )
    files.append(memory_file(f"{top}/{AUDIT_FILE}", lines.encode(), "audit"))
    seals = {
        ev.subject: ev.details for ev in events if ev.action == SEALED and ev.case_id == case.id
    }
    for rec in view.recordings:
        sealed = seals.get(f"recording:{rec.id}")
        if sealed is None or (sealed.get("sha256"), sealed.get("size")) != (rec.sha256, rec.size):
            # The disc copies the row's bytes and the chain's seal: they must agree, or
            # the signed disc would keep a forgery beside the record that betrays it.
            raise EvidenceError(
                f"recording {rec.id} of case {case.number} no longer says what its "
                "recording.sealed event sealed: no archive made; run `hotline verify`"
            )
        suffix = Path(rec.stored_path).suffix or ".wav"
        files.append(
            DiscFile(
                f"{top}/{RECORDINGS}/{rec.id}-{rec.leg}-{rec.sha256[:12]}{suffix}",
                rec.size,
                rec.sha256,
                "recording",
                sealed=EvidenceStore.ref(rec),
            )
        )
    versions = (
        await session.exec(
            select(Transcript)
            .where(col(Transcript.case_id) == case.id)
            .order_by(col(Transcript.recording_id), col(Transcript.version))
        )
    ).all()
    for t in versions:
        body = t.model_dump(mode="json")
        files.append(
            memory_file(
                f"{top}/{TRANSCRIPTS}/{t.recording_id}-v{t.version}.json",
                json_bytes(body),
                "transcript",
            )
        )
    return CaseBundle(case.number, tuple(files))


@dataclass(frozen=True, slots=True)
class ImageMade:
    path: Path
    label: str
    number: int
    of: int
    sha256: str
    size: int
    cases: tuple[str, ...]
    files: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "file": self.path.name,
            "label": self.label,
            "volume": self.number,
            "of": self.of,
            "sha256": self.sha256,
            "size": self.size,
            "cases": list(self.cases),
            "files": self.files,
        }


@dataclass(slots=True)
class Archive:
    id: str
    label: str
    media: str
    capacity: int
    created_at: datetime
    created_by: str
    selection: dict[str, Any]
    chain_head: dict[str, Any]
    checkpoint: dict[str, Any] | None
    images: list[ImageMade] = field(default_factory=list)
    event_seq: int | None = None

    def details(self) -> dict[str, Any]:
        return {
            "archive_id": self.id,
            "label": self.label,
            "media": self.media,
            "capacity": self.capacity,
            "selection": self.selection,
            "chain_head": self.chain_head,
            "checkpoint_event": self.checkpoint.get("event_seq") if self.checkpoint else None,
            "images": [image.to_dict() for image in self.images],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "event_seq": self.event_seq,
            **{k: v for k, v in self.details().items() if k not in ("archive_id", "label")},
        }


_LABEL_CHARS = re.compile(r"[^A-Z0-9]")


async def _next_label(session: AsyncSession, prefix: str) -> str:
    made = (
        await session.exec(
            select(func.count())
            .select_from(AuditEvent)
            .where(col(AuditEvent.action) == ARCHIVE_ACTION)
        )
    ).one()
    return f"{_LABEL_CHARS.sub('', prefix.upper())[:8] or 'HL'}A{int(made) + 1:04d}"


async def create(
    core: Hotline, selection: Selection, *, media: str, out: Path, actor: str
) -> Archive:
    """Write the images of the selected cases into ``out``; record the archive."""
    capacity = media_bytes(media)
    try:
        await asyncio.to_thread(out.mkdir, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot use {out} for the images: {exc.strerror}") from None
    made = await core.checkpoints.make(actor)
    async with core.db.session() as s:
        cases = await select_cases(s, selection, core.settings.tz)
        if not cases:
            raise InputError("no case to archive: the selection is empty")
        assert made is not None  # there are cases, so there are events
        head = await s.get(AuditEvent, made.event_seq)
        assert head is not None
        bundles = [await bundle(s, view, head.seq) for view in await load_views(s, cases)]
        label = await _next_label(s, core.settings.case_prefix)
    archive = Archive(
        id=str(uuid.uuid4()),
        label=label,
        media=media,
        capacity=capacity,
        created_at=utcnow(),
        created_by=actor,
        selection=selection.to_dict(),
        chain_head={"seq": head.seq, "hash": head.hash},
        checkpoint={**made.checkpoint.details(), "event_seq": made.event_seq},
    )
    key = core.key
    probe = _facts(archive, 1, 1)
    # The tools, the manifest's own lines and its signature (the cases' lines are theirs).
    extra = tools(key.public, probe)
    fixed = estimate(extra) + MANIFEST_ENTRY * len(extra) + 8 * 1024 + SECTOR + 640
    volumes = plan(bundles, capacity, fixed)
    written: list[Path] = []
    try:
        for volume in volumes:
            facts = _facts(archive, volume.number, len(volumes))
            files = [f for case in volume.cases for f in case.files]
            files += tools(key.public, facts)
            body = manifest(facts, key.public, volume.numbers, files)
            files += [memory_file(MANIFEST, body, "tool"), signed(body, key)]
            target = out / f"{facts.label}.iso"
            digest, size = await asyncio.to_thread(
                write_image,
                target,
                label=facts.label,
                archive_label=archive.label,
                number=volume.number,
                of=len(volumes),
                files=files,
                capacity=capacity,
                open_sealed=core.store.reader,
            )
            written.append(target)
            archive.images.append(
                ImageMade(
                    target.resolve(),
                    facts.label,
                    volume.number,
                    len(volumes),
                    digest,
                    size,
                    tuple(volume.numbers),
                    len(files),
                )
            )
    except BaseException:
        # An archive is whole or nothing: the images already written are not one.
        for path in written:
            path.unlink(missing_ok=True)
        raise
    async with core.db.session() as s:
        event = await append_audit(
            s,
            actor=actor,
            action=ARCHIVE_ACTION,
            subject=f"archive:{archive.label}",
            details=archive.details(),
        )
        archive.event_seq = event.seq
    return archive


def _facts(archive: Archive, number: int, of: int) -> VolumeFacts:
    return VolumeFacts(
        archive_id=archive.id,
        label=f"{archive.label}V{number:02d}",
        archive_label=archive.label,
        number=number,
        of=of,
        media=archive.media,
        capacity=archive.capacity,
        created_at=archive.created_at,
        created_by=archive.created_by,
        selection=archive.selection,
        chain_head=archive.chain_head,
        checkpoint=archive.checkpoint,
    )


async def archives(session: AsyncSession) -> list[Archive]:
    """Every archive the audit chain records, oldest first."""
    rows = (
        await session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.action) == ARCHIVE_ACTION)
            .order_by(col(AuditEvent.seq))
        )
    ).all()
    found = []
    for ev in rows:
        d = ev.details
        archive = Archive(
            id=str(d.get("archive_id", "")),
            label=str(d.get("label", "")),
            media=str(d.get("media", "")),
            capacity=int(d.get("capacity", 0)),
            created_at=ev.at,
            created_by=ev.actor,
            selection=dict(d.get("selection", {})),
            chain_head=dict(d.get("chain_head", {})),
            checkpoint={"event_seq": d.get("checkpoint_event")},
            event_seq=ev.seq,
        )
        for image in d.get("images", []):
            archive.images.append(
                ImageMade(
                    Path(str(image.get("path", ""))),
                    str(image.get("label", "")),
                    int(image.get("volume", 0)),
                    int(image.get("of", 0)),
                    str(image.get("sha256", "")),
                    int(image.get("size", 0)),
                    tuple(str(n) for n in image.get("cases", [])),
                    int(image.get("files", 0)),
                )
            )
        found.append(archive)
    return found


@dataclass(slots=True)
class ImageCheck:
    """What ``hotline archive verify`` found in one image."""

    path: Path
    sha256: str = ""
    label: str = ""
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    recorded: str | None = None
    """Which archive of this installation's audit chain the image is (by SHA-256)."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        volume = self.manifest.get("volume", {})
        return {
            "ok": self.ok,
            "image": str(self.path),
            "sha256": self.sha256,
            "label": self.label,
            "volume": volume.get("number"),
            "of": volume.get("of"),
            "cases": self.manifest.get("cases", []),
            "files": len(self.manifest.get("files", [])),
            "recorded": self.recorded,
            "problems": self.problems,
            "notes": self.notes,
        }


def check_image(path: Path, public: PublicKey, known: Sequence[Archive]) -> ImageCheck:
    """Read ``path`` directly (no mount) and check it: the manifest's signature with
    this installation's key, every file against the manifest, every audit event
    against its hash, and the image against the archive the chain records."""
    found = ImageCheck(path)
    with Image(path) as image:
        found.label = image.volume_label
        try:
            raw, found.manifest = disc_verify.read_manifest(image)
        except disc_verify.NotAnArchive as exc:
            raise InputError(f"{path}: {exc}") from None
        try:
            with image.open(SIGNATURE) as fh:
                signature = fh.read()
        except OSError:
            signature = b""
        if not public.verify(signature, raw):
            found.problems.append(
                f"BADSIG   {SIGNATURE}: the manifest is not signed by this installation's "
                f"key ({public.fingerprint[:16]}…)"
            )
        found.problems.extend(disc_verify.check(image, say=lambda _: None))
    found.sha256, _ = sha256_file(path)
    for archive in known:
        for made in archive.images:
            if made.sha256 == found.sha256:
                found.recorded = (
                    f"volume {made.number} of {made.of} of archive {archive.label}, "
                    f"made {archive.created_at:%Y-%m-%d %H:%M}Z by {archive.created_by} "
                    f"(audit event {archive.event_seq})"
                )
    if found.recorded is None:
        found.notes.append(
            "this image's SHA-256 is not among the archives this installation recorded"
        )
    return found
