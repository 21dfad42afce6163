"""Disc archives and checkpoints, measured against baselines in the same run.

1. ``hotline archive create`` on 1 GB of sealed recordings (pycdlib; sources re-hashed
   against their seals and the image hashed while written, the image synced to disk)
   against ``xorriso -as mkisofs -J -R`` writing an image of the same files (which
   checks nothing and does not sync; a second line adds the sync).
   Target: within 1.5x of xorriso's time (ratio <= 1.5).
2. ``hotline verify``'s walk of 100,000 audit events with signed checkpoints (one every
   100 events, each signature checked) against the walk of 100,000 events without any.
   Target: checkpoints add under 10%.

    .venv/bin/python bench/archive.py [--mb 1000] [--files 100] [--events 100000]

Each figure is the best of ``--repeat`` runs (files in the page cache), so it compares the
programs, not the disk. CPU seconds (user + system, every thread) are printed beside
the wall-clock ones: on a shared machine they move less with the load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from hotline.archive import discs
from hotline.config import load_settings
from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.evidence.chain_verify import walk_chain
from hotline.evidence.checkpoints import ACTION, sign
from hotline.evidence.keys import InstallationKey
from hotline.service import Hotline
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Recording


def _wav(size: int) -> bytes:
    import struct

    body = os.urandom(size - 44 - (size % 2))
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    head = b"RIFF" + struct.pack("<I", 36 + len(body)) + b"WAVE" + b"fmt "
    return head + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(body)) + body


async def build_store(data: Path, files: int, size: int) -> Hotline:
    core = Hotline(load_settings(environ={"HOTLINE_DATA_DIR": str(data), "HOTLINE_SIP": "off"}))
    await core.open(migrate=True)
    src = data.parent / "src.wav"
    for i in range(files):
        src.write_bytes(_wav(size))
        await core.intake.ingest_file(src, caller=str(i), actor="bench")
    src.unlink()
    return core


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def time_create(core: Hotline, out: Path) -> tuple[float, int, float]:
    shutil.rmtree(out, ignore_errors=True)
    cpu = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    archive = await discs.create(
        core,
        discs.Selection(since=datetime.now(UTC).date() - timedelta(days=1)),
        media="bd25",
        out=out,
        actor="bench",
    )
    took = time.perf_counter() - started
    return took, sum(image.size for image in archive.images), _cpu(resource.RUSAGE_SELF) - cpu


async def source_tree(core: Hotline, tree: Path) -> None:
    """The same recordings laid out as on the disc (hard links: nothing copied)."""
    async with core.db.session() as s:
        from sqlmodel import select

        for rec in (await s.exec(select(Recording))).all():
            target = tree / f"case-{rec.call_id}" / "录音" / f"{rec.id}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(core.store.path_of(rec.stored_path), target)


def time_xorriso(tree: Path, image: Path) -> tuple[float, float, float]:
    """Seconds to write the image, CPU seconds, and seconds until it is on the disk
    (xorriso does not sync; an archive's image is synced before it is recorded)."""
    image.unlink(missing_ok=True)
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        ["xorriso", "-as", "mkisofs", "-J", "-R", "-quiet", "-o", str(image), str(tree)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    written = time.perf_counter() - started
    fd = os.open(image, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return written, _cpu(resource.RUSAGE_CHILDREN) - cpu, time.perf_counter() - started


async def build_chain(url: str, events: int, key: InstallationKey, every: int | None) -> None:
    """``events`` audit events (a checkpoint after each ``every`` of them, if given)."""
    db = Database(url)
    await db.upgrade()
    prev, rows = GENESIS, []
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, events + 1):
        at += timedelta(seconds=7)
        fields: dict[str, Any] = {
            "seq": seq,
            "at": at,
            "actor": "user:handler",
            "action": "transcript.viewed",
            "subject": f"case:{seq % 5000}",
            "case_id": seq % 5000,
            "details": {"version": 1, "via": "page"},
        }
        if every and seq % (every + 1) == 0:
            checkpoint = sign(key, seq - 1, prev, at)
            fields.update(
                actor="system:checkpoint",
                action=ACTION,
                subject=f"audit:{seq - 1}",
                case_id=None,
                details=checkpoint.details(),
            )
        digest = link_hash(prev, canonical(**fields))
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
        if len(rows) == 5000:
            async with db.connection() as conn:
                await conn.execute(insert(AuditEvent), rows)
            rows = []
    if rows:
        async with db.connection() as conn:
            await conn.execute(insert(AuditEvent), rows)
    await db.close()


async def time_walk(url: str, key: InstallationKey | None) -> tuple[float, int, int, float]:
    db = Database(url)
    cpu = _cpu(resource.RUSAGE_SELF)
    started = time.perf_counter()
    walk = await walk_chain(db, key.public if key else None)
    took = time.perf_counter() - started
    cpu = _cpu(resource.RUSAGE_SELF) - cpu
    await db.close()
    assert walk.broken_link is None and all(c.problem is None for c in walk.checkpoints)
    return took, walk.events, len(walk.checkpoints), cpu


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-", dir=args.tmp) as tmp:
        root = Path(tmp)
        size = int(args.mb * 1e6 / args.files)
        core = await build_store(root / "data", args.files, size)
        try:
            await source_tree(core, root / "tree")
            ours, xorriso = [], []
            for _ in range(args.repeat):  # interleaved, so both see the same machine
                ours.append(await time_create(core, root / "discs"))
                xorriso.append(time_xorriso(root / "tree", root / "xorriso.iso"))
            took, written, our_cpu = min(ours)
            theirs, their_cpu, _ = min(xorriso)
            synced = min(x[2] for x in xorriso)
        finally:
            await core.close()
        theirs_size = (root / "xorriso.iso").stat().st_size
        print(f"{args.files} recordings of {size / 1e6:.1f} MB, {os.cpu_count()} CPUs")
        print("| what                             | seconds | MB/s written | vs xorriso | CPU s |")
        print("|----------------------------------|---------|--------------|------------|-------|")
        print(
            f"| xorriso -as mkisofs -J -R        | {theirs:7.2f} | "
            f"{theirs_size / theirs / 1e6:12.0f} | 1.00       | {their_cpu:5.2f} |"
        )
        print(
            f"| xorriso, then its image synced   | {synced:7.2f} | "
            f"{theirs_size / synced / 1e6:12.0f} | {synced / theirs:4.2f}       |       |"
        )
        print(
            f"| hotline archive create (pycdlib) | {took:7.2f} | "
            f"{written / took / 1e6:12.0f} | {took / theirs:4.2f}       | {our_cpu:5.2f} |"
        )
        print(
            f"(archive create, which syncs its image, against xorriso with the same sync: "
            f"{took / synced:.2f}x)"
        )

        key = InstallationKey.load_or_create(root / "key.pem")
        plain = f"sqlite+aiosqlite:///{root / 'plain.db'}"
        signed = f"sqlite+aiosqlite:///{root / 'signed.db'}"
        await build_chain(plain, args.events, key, None)
        await build_chain(signed, args.events, key, 100)
        runs: dict[str, list[tuple[float, int, int, float]]] = {"plain": [], "signed": []}
        for _ in range(args.repeat + 2):  # interleaved, so both see the same machine
            runs["plain"].append(await time_walk(plain, None))
            runs["signed"].append(await time_walk(signed, key))
        alone, checked = min(runs["plain"]), min(runs["signed"])
        print()
        print(f"audit chain of {args.events} events")
        print("| what                             | seconds | events/s | vs chain alone | CPU s |")
        print("|----------------------------------|---------|----------|----------------|-------|")
        rows = (
            ("chain walk, no checkpoint", alone),
            (f"walk + {checked[2]} checkpoints checked", checked),
        )
        for label, (secs, count, _, cpu) in rows:
            print(
                f"| {label:<32} | {secs:7.2f} | {count / secs:8.0f} | "
                f"{secs / alone[0]:4.2f}           | {cpu:5.2f} |"
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mb", type=float, default=1000.0)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    ap.add_argument("--tmp", default=None, help="where to work (default: the system's)")
    asyncio.run(main(ap.parse_args()))
