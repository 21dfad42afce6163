"""``hotline copies …``: copy requests from the command line, under the same rules as
the web (art. 17). The commands that act for a person (``request``, ``approve``,
``refuse``, ``revoke``, ``issue``) read that user's password from standard input, so
the four-eyes rule holds here too: whoever runs the command on the host cannot approve
as someone else. ``verify`` checks a copy offline and needs nothing else.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

EXIT_OK, EXIT_CHECK = 0, 1
STEPS = ("approve", "refuse", "revoke")


def add_parsers(sub: Any) -> None:
    copies = sub.add_parser("copies", help="copy requests: record, decide, issue, verify")
    cmd = copies.add_subparsers(dest="copies_command", required=True, metavar="ACTION")

    def person(p: argparse.ArgumentParser) -> None:
        p.add_argument("--user", required=True, help="who acts (password on standard input)")
        p.add_argument("--json", action="store_true")

    request = cmd.add_parser("request", help="record a party's request (prints its id)")
    request.add_argument("case", help="case id or number")
    person(request)
    request.add_argument("--party", required=True, help="who asks")
    request.add_argument(
        "--party-id", required=True, metavar="TYPE:NUMBER", help="e.g. resident_id:1101…"
    )
    request.add_argument("--purpose", required=True, help="why they ask")
    request.add_argument("--what", default="recording,transcript,summary")
    request.add_argument("--range", metavar="START-END", help="seconds of the call, e.g. 30-95")
    request.add_argument("--full", action="store_true", help="without redaction")
    request.add_argument("--reason", default="", help="why a full copy (with --full)")

    listing = cmd.add_parser("list", help="copy requests, newest first (ID numbers masked)")
    listing.add_argument("--case", help="only this case's")
    listing.add_argument("--status")
    listing.add_argument("--json", action="store_true")

    for name in STEPS:
        step = cmd.add_parser(name, help=f"{name} a copy request (the head)")
        step.add_argument("request", help="request id or copy number")
        person(step)
        step.add_argument("--comment", default="")

    issue = cmd.add_parser("issue", help="make an approved copy (prints the ZIP's path)")
    issue.add_argument("request", help="request id or copy number")
    person(issue)
    issue.add_argument("--out", required=True, type=Path, help="directory for the ZIP")

    verify = cmd.add_parser("verify", help="check a copy ZIP offline (exit 0 or 1)")
    verify.add_argument("zip", type=Path)
    verify.add_argument("--fingerprint", help="the key fingerprint the agency publishes")
    verify.add_argument("--json", action="store_true")


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _print(data: Any, as_json: bool, line: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if as_json else line)


async def run(settings: Any, args: argparse.Namespace) -> int:
    if args.copies_command == "verify":
        return _verify(args)
    from hotline.service import Hotline

    core = Hotline(settings)
    await core.open()
    try:
        return await _run(core, args)
    finally:
        await core.close()


def _verify(args: argparse.Namespace) -> int:
    from hotline.custody.bundle import verify
    from hotline.errors import InputError

    if not args.zip.is_file():
        raise InputError(f"{args.zip}: no such file")
    with args.zip.open("rb") as fh:
        checked = verify(fh, fingerprint=args.fingerprint)
    data = {
        "ok": checked.ok,
        "problems": checked.problems,
        "copy": (checked.manifest or {}).get("copy"),
        "key_fingerprint": checked.fingerprint,
    }
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif checked.ok:
        print(f"ok: copy {data['copy']}, every file as signed")
        print(f"signed by the key with fingerprint {checked.fingerprint}")
        if not args.fingerprint:
            print("(compare it with the fingerprint the agency publishes, or pass --fingerprint)")
    else:
        for problem in checked.problems:
            print(f"FAILED {problem}")
    return EXIT_OK if checked.ok else EXIT_CHECK


async def _principal(core: Any, name: str) -> Any:
    from hotline.auth import users
    from hotline.auth.sessions import principal_of

    user = await users.authenticate(
        core.db, name, _read_password(), ip="cli", limit=core.settings.login_max_failures
    )
    return principal_of(user)


async def _run(core: Any, args: argparse.Namespace) -> int:
    data: dict[str, Any]
    from hotline.cases import get_case
    from hotline.custody import copies
    from hotline.custody.requests import Step
    from hotline.errors import CopyRefused, InputError

    match args.copies_command:
        case "list":
            async with core.db.session() as s:
                case_id = (await get_case(s, args.case)).id if args.case else None
                rows = await copies.listing(s, case_id=case_id, status=args.status)
            listed = [r.json() for r in rows]
            if args.json:
                print(json.dumps(listed, ensure_ascii=False, indent=2))
            for r in listed if not args.json else []:
                print(
                    f"{r['id']:>5}  {r['number']:<22} {r['status']:<10} {r['party_name']} "
                    f"{r['party_id_type']}:{r['party_id_number']}  by {r['requested_by']}"
                )
            return EXIT_OK
        case "request":
            by = await _principal(core, args.user)
            kind, sep, number = args.party_id.partition(":")
            if not sep:
                raise InputError("--party-id: TYPE:NUMBER (resident_id:…, passport:…)")
            start = end = None
            if args.range:
                try:
                    start, end = (float(x) for x in args.range.split("-", 1))
                except ValueError:
                    raise InputError("--range: START-END in seconds, e.g. 30-95") from None
            try:
                form = copies.CopyRequestForm(
                    party_name=args.party,
                    party_id_type=kind,
                    party_id_number=number,
                    purpose=args.purpose,
                    what=[w.strip() for w in args.what.split(",") if w.strip()],
                    range_start=start,
                    range_end=end,
                    full=args.full,
                    full_reason=args.reason,
                )
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InputError(f"{where + ': ' if where else ''}{first['msg']}") from None
            async with core.db.session() as s:
                case = await get_case(s, args.case)
                row = await copies.create(s, case, form, by=by)
                data = copies.Listed(row, case.number).json()
            _print(data, args.json, str(row.id))
            return EXIT_OK
        case "approve" | "refuse" | "revoke":
            by = await _principal(core, args.user)
            step = Step(args.copies_command)
            try:
                async with core.db.session() as s:
                    row, case = await copies.get(s, args.request)
                    await copies.decide(s, row, case, step, by=by, comment=args.comment)
                    data = copies.Listed(row, case.number).json()
            except CopyRefused as exc:
                await copies.record_denial(core.db, args.request, step, by=by, reason=str(exc))
                raise
            _print(data, args.json, f"{data['number']} {data['status']} by {by.username}")
            return EXIT_OK
        case "issue":
            by = await _principal(core, args.user)
            try:
                issued = await core.copies.issue(args.request, by=by)
            except CopyRefused as exc:
                await copies.record_denial(
                    core.db, args.request, Step.ISSUE, by=by, reason=str(exc)
                )
                raise
            args.out.mkdir(parents=True, exist_ok=True)
            target = args.out / issued.path.name
            shutil.copyfile(issued.path, target)
            data = {**copies.Listed(issued.row, "").json(), "path": str(target)}
            _print(data, args.json, str(target))
            return EXIT_OK
    raise AssertionError(args.copies_command)
