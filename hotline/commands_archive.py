"""``hotline retention …`` and ``hotline archive …``: long-term keeping (art. 19-21).

The retention report only informs; an archive copies sealed evidence onto disc images.
Neither deletes anything.
"""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from hotline.archive import retention
from hotline.config import Settings
from hotline.service import Hotline

EXIT_OK = 0


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


async def run(settings: Settings, args: argparse.Namespace, *, actor: str) -> int:
    if args.command == "retention":
        return await retention_report(
            settings, within=args.within, today=args.today, as_json=args.json
        )
    raise AssertionError(args.command)


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
