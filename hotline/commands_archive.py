"""``hotline retention …`` and ``hotline archive …``: long-term keeping (art. 19-21).

The retention report only informs; an archive copies sealed evidence onto disc images.
Neither deletes anything.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hotline.archive import discs, retention
from hotline.config import Settings
from hotline.service import Hotline

EXIT_OK, EXIT_CHECK = 0, 1


def add_parsers(sub: Any) -> None:
    ret = sub.add_parser("retention", help="retention periods of cases (art. 19)")
    ret_sub = ret.add_subparsers(dest="retention_command", required=True, metavar="ACTION")
    rep = ret_sub.add_parser(
        "report", help="cases whose retention period ended or ends soon, and preserved ones"
    )
    rep.add_argument(
        "--within", type=int, default=90, metavar="DAYS", help="'ends soon' window (90)"
    )
    rep.add_argument(
        "--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="report as of this day"
    )
    rep.add_argument("--json", action="store_true")

    arc = sub.add_parser("archive", help="disc archives: ISO images to burn (art. 20)")
    arc_sub = arc.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    create = arc_sub.add_parser(
        "create", help="write ISO 9660 images (Joliet, Rock Ridge) of cases, for burning"
    )
    which = create.add_mutually_exclusive_group(required=True)
    which.add_argument("--preserved", action="store_true", help="every preserved case")
    which.add_argument(
        "--case", dest="cases", nargs="+", metavar="ID", help="these cases (id or number)"
    )
    which.add_argument(
        "--since", type=date.fromisoformat, metavar="YYYY-MM-DD", help="cases opened since"
    )
    create.add_argument(
        "--media",
        default="dvd",
        help="dvd (default), dvd-dl, bd25, bd50, cd, or a size such as 700M: cases are "
        "split into as many volumes as that needs, never one case across two",
    )
    create.add_argument("--out", type=Path, required=True, metavar="DIR", help="where to write")
    create.add_argument("--json", action="store_true")
    check = arc_sub.add_parser("verify", help="check an image without mounting it")
    check.add_argument("images", nargs="+", type=Path, metavar="IMAGE.iso")
    check.add_argument("--json", action="store_true")
    listing = arc_sub.add_parser("list", help="the archives made, with each image's SHA-256")
    listing.add_argument("--json", action="store_true")


async def run(settings: Settings, args: argparse.Namespace, *, actor: str) -> int:
    if args.command == "retention":
        return await retention_report(
            settings, within=args.within, today=args.today, as_json=args.json
        )
    match args.archive_command:
        case "create":
            selection = discs.Selection(
                preserved=args.preserved, cases=tuple(args.cases or ()), since=args.since
            )
            return await archive_create(
                settings, selection, media=args.media, out=args.out, actor=actor, as_json=args.json
            )
        case "verify":
            return await archive_verify(settings, args.images, as_json=args.json)
        case "list":
            return await archive_list(settings, as_json=args.json)
    raise AssertionError(args.archive_command)


def _print_json(data: Any) -> None:
    from hotline.cli import print_json

    print_json(data)


async def retention_report(
    settings: Settings, *, within: int, today: date | None, as_json: bool
) -> int:
    if within < 0:
        from hotline.errors import InputError

        raise InputError("--within takes a number of days, 0 or more")
    day = today or datetime.now(settings.tz).date()
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            report = await retention.report(s, settings, day, within)
    finally:
        await core.close()
    if as_json:
        _print_json(report.to_dict())
        return EXIT_OK
    print(f"Retention report for {day} ({report.total} cases; 'soon': within {within} days)")
    sections = (
        ("DUE", "retention period ended", report.due),
        ("SOON", f"period ends within {within} days", report.soon),
        ("KEPT LONG-TERM", "preserved (art. 20): never due", report.preserved),
    )
    for title, meaning, entries in sections:
        print(f"\n{title}: {len(entries)} ({meaning})")
        for e in entries:
            when = (
                f"ended {e.ends} ({-e.days_left} days ago)"
                if e.days_left <= 0
                else f"ends {e.ends} (in {e.days_left} days)"
            )
            extra = f"  {e.preservation_reason}" if e.preservation_reason else ""
            discs = f"  on disc {', '.join(e.archived_on)}" if e.archived_on else ""
            print(
                f"  {e.number}  {e.category or '-':<18} opened {e.opened}  {e.years:>3} years  "
                f"{when}{extra}{discs}"
            )
    print(f"\n{report.kept} other cases are kept; their periods end later.")
    print("This report only informs: hotline deletes no evidence (art. 21).")
    return EXIT_OK


async def archive_create(
    settings: Settings,
    selection: discs.Selection,
    *,
    media: str,
    out: Path,
    actor: str,
    as_json: bool,
) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        archive = await discs.create(core, selection, media=media, out=out, actor=actor)
    finally:
        await core.close()
    if as_json:
        _print_json(archive.to_dict())
        return EXIT_OK
    head = archive.chain_head
    print(
        f"archive {archive.label}: {len(archive.images)} volumes for {archive.media}, "
        f"made at audit event {head['seq']} (signed checkpoint at event "
        f"{(archive.checkpoint or {}).get('event_seq')}); recorded as event {archive.event_seq}"
    )
    for image in archive.images:
        print(
            f"  {image.path}  {image.size / 1e6:.1f} MB  sha256 {image.sha256}  "
            f"cases {', '.join(image.cases)}"
        )
    print("burn each with: xorriso -as cdrecord -v dev=/dev/sr0 -dao IMAGE.iso")
    return EXIT_OK


async def archive_verify(settings: Settings, images: list[Path], *, as_json: bool) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            known = await discs.archives(s)
        public = core.key.public
    finally:
        await core.close()

    checks = [await asyncio.to_thread(discs.check_image, p, public, known) for p in images]
    if as_json:
        _print_json([c.to_dict() for c in checks])
    for c in checks:
        if as_json:
            continue
        volume = c.manifest.get("volume", {})
        print(
            f"{c.path}: {c.label}, volume {volume.get('number')} of {volume.get('of')}, "
            f"{len(c.manifest.get('cases', []))} cases, {len(c.manifest.get('files', []))} "
            f"files, sha256 {c.sha256}"
        )
        if c.recorded:
            print(f"  recorded: {c.recorded}")
        for problem in c.problems:
            print(f"  {problem}")
        for note in c.notes:
            print(f"  note: {note}")
        print("  ok: signature good, every file matches" if c.ok else "  FAILED")
    return EXIT_OK if all(c.ok for c in checks) else EXIT_CHECK


async def archive_list(settings: Settings, *, as_json: bool) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            found = await discs.archives(s)
    finally:
        await core.close()
    if as_json:
        _print_json([a.to_dict() for a in found])
        return EXIT_OK
    if not found:
        print("no archives yet (hotline archive create)")
    for a in found:
        cases = sorted({n for image in a.images for n in image.cases})
        print(
            f"{a.label}  {a.created_at.astimezone(settings.tz):%Y-%m-%d %H:%M}  {a.created_by}  "
            f"{a.media}  {len(a.images)} volumes  {len(cases)} cases  (event {a.event_seq})"
        )
        for image in a.images:
            print(f"  {image.label}  {image.sha256}  {image.size / 1e6:.1f} MB  {image.path}")
    return EXIT_OK
