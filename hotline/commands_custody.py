"""``hotline verify`` and ``hotline audit …``: what the evidence and its audit chain
say about themselves, and the signed checkpoints that let others check the chain.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import select

from hotline.config import Settings
from hotline.errors import InputError
from hotline.evidence.checkpoints import CheckpointError, WitnessLine, read_witness
from hotline.evidence.holds import NOT_HELD, STRAY
from hotline.evidence.timestamps import Trust
from hotline.evidence.verify import VerifyReport
from hotline.evidence.verify import verify as run_verify
from hotline.service import Hotline
from hotline.store.tables import Recording

EXIT_OK, EXIT_CHECK = 0, 1

# How a failure of each section is labelled on the terminal.
_LABELS = {
    "chain": "BROKEN",
    "checkpoints": "CHECKPOINT",
    "timestamps": "TIMESTAMP",
    "witness": "WITNESS",
    "archives": "ARCHIVE",
    "preservation": "FLAG",
    "transcripts": "WORDS",
}


def add_parsers(sub: Any) -> None:
    verify = sub.add_parser(
        "verify",
        help="re-hash every recording, check the audit chain, its checkpoints and timestamps",
    )
    verify.add_argument("--json", action="store_true")
    verify.add_argument(
        "--witness",
        type=Path,
        metavar="FILE",
        help="checkpoints kept elsewhere (JSON lines, as the case system received them)",
    )
    audit = sub.add_parser("audit", help="the audit chain")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    checkpoint = audit_sub.add_parser(
        "checkpoint", help="sign the head of the audit chain now and send it to the case system"
    )
    checkpoint.add_argument("--json", action="store_true")


async def run(settings: Settings, args: argparse.Namespace, *, actor: str) -> int:
    if args.command == "verify":
        return await verify(settings, as_json=args.json, witness=args.witness)
    if args.command == "audit":
        return await checkpoint(settings, as_json=args.json, actor=actor)
    raise AssertionError(args.command)


def _print_json(data: Any) -> None:
    from hotline.cli import print_json

    print_json(data)


def _read_witness(path: Path) -> list[WitnessLine]:
    try:
        with path.open(encoding="utf-8") as fh:
            return list(read_witness(fh))
    except OSError as exc:
        raise InputError(f"cannot read the witness file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"the witness file {path} is not UTF-8 text") from None
    except CheckpointError as exc:
        raise InputError(f"the witness file {path}, {exc}") from None


async def verify(settings: Settings, *, as_json: bool, witness: Path | None) -> int:
    lines = _read_witness(witness) if witness is not None else None
    trust = Trust.load(settings.tsa_cert) if settings.tsa_cert else None
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            total = (await s.exec(select(func.coalesce(func.sum(Recording.size), 0)))).one()
        bar = None
        if not as_json and sys.stderr.isatty() and int(total) > 0:
            from tqdm import tqdm

            bar = tqdm(total=int(total), unit="B", unit_scale=True, desc="verifying", leave=False)
        report = await run_verify(
            core.db,
            core.store,
            progress=bar.update if bar else None,
            concurrency=settings.evidence_verify_concurrency,
            public=core.key.public,
            witness=lines,
            trust=trust,
        )
        if bar is not None:
            bar.close()
    finally:
        await core.close()
    if as_json:
        _print_json(report.to_dict())
    else:
        _print_report(report)
    return EXIT_OK if report.ok else EXIT_CHECK


def _print_report(report: VerifyReport) -> None:
    rate = report.bytes_hashed / report.seconds / 1e6 if report.seconds else 0.0
    print(
        f"{report.recordings_checked} recordings re-hashed ({report.bytes_hashed / 1e6:.1f} MB, "
        f"{rate:.0f} MB/s), {report.events_checked} audit events checked"
    )
    for p in report.recordings:
        if p.problem == "missing":
            where = f" {p.detail}" if p.detail else ""
            print(
                f"MISSING  recording {p.recording_id}: {p.path}{where} (sealed SHA-256 {p.sha256})"
            )
        elif p.problem == "changed":
            print(
                f"CHANGED  recording {p.recording_id}: {p.path} is now {p.actual_sha256}, "
                f"sealed as {p.sha256}"
            )
        elif p.problem == "unlocked":
            print(f"UNLOCKED recording {p.recording_id}: {p.path} {p.detail}")
        elif p.problem == NOT_HELD:
            print(f"UNHELD   recording {p.recording_id}: {p.path} {p.detail}")
        elif p.problem == STRAY:
            print(f"HELD     recording {p.recording_id}: {p.path} {p.detail}")
        elif p.problem == "deleted":
            print(f"DELETED  recording {p.recording_id}: {p.detail}")
        elif p.problem in ("altered", "unsealed", "misfiled"):
            print(f"{p.problem.upper():<8} recording {p.recording_id}: {p.path}: {p.detail}")
        else:
            print(f"EXTRA    recording {p.recording_id}: {p.path} has {p.detail}")
    for ref in report.unclaimed:
        print(f"note     {ref} is stored but no recording names it")
    if (link := report.broken_link) is not None:
        print(f"BROKEN   audit chain at event {link.seq}: {link.reason}")
    sections = report.sections
    for section in sections:
        if section.name in ("recordings", "chain"):
            continue
        for failure in section.failures:
            print(f"{_LABELS[section.name]:<8} {failure}")
    for section in sections:
        if section.skipped:
            state, what = "-   ", f"not checked: {section.skipped}"
        else:
            state, what = ("ok  " if section.ok else "FAIL"), _summary(section.name, report)
        print(f"  {state}  {section.name:<12} {what}")
        for note in section.notes:
            print(f"        note: {note}")
    if report.ok:
        print("ok: all evidence intact")
    else:
        failed = ", ".join(s.name for s in sections if not s.ok)
        print(f"FAILED: evidence does not match its seals ({failed})")


def _summary(name: str, report: VerifyReport) -> str:
    sections = {s.name: s for s in report.sections}
    section = sections[name]
    if name == "recordings":
        return f"{section.checked} re-hashed"
    if name == "chain":
        head = f", head event {report.chain_head[0]}" if report.chain_head else ""
        return f"{section.checked} events{head}"
    if name == "checkpoints":
        newest = section.figures.get("newest")
        if newest is None:
            return f"{section.checked} signed checkpoints"
        return (
            f"{section.checked} signed checkpoints, newest at event {newest['event_seq']} "
            f"({section.figures['events_since_newest']} events since)"
        )
    if name == "timestamps":
        return f"{section.checked} tokens"
    if name == "witness":
        return f"{section.checked} checkpoints kept elsewhere"
    if name == "transcripts":
        return f"{section.checked} transcript versions against their events"
    if name == "preservation":
        return f"{section.checked} cases' long-term flags against the chain"
    on_disk = section.figures.get("images_on_disk", 0)
    return (
        f"{section.figures.get('archives', 0)} archives, {section.checked} images "
        f"({on_disk} still here, re-hashed)"
    )


async def checkpoint(settings: Settings, *, as_json: bool, actor: str) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        made = await core.checkpoints.make(actor)
    finally:
        await core.close()
    if made is None:
        if as_json:
            _print_json(None)
        else:
            print("the audit chain is empty: nothing to sign")
        return EXIT_OK
    cp = made.checkpoint
    if as_json:
        _print_json({**cp.details(), "event_seq": made.event_seq, "new": made.new})
    elif made.new:
        print(
            f"checkpoint at event {made.event_seq}: signed event {cp.seq} ({cp.hash}) "
            f"with key {cp.key[:16]}…"
        )
    else:
        print(
            f"the chain has not moved since the checkpoint at event {made.event_seq} "
            f"(event {cp.seq}, {cp.hash})"
        )
    return EXIT_OK
