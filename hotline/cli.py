"""The ``hotline`` command.

Exit codes: 0 ok, 1 a check failed (or the service could not do its work), 2 bad usage
or input, or a setting the service cannot start on (a port taken, a data directory it
cannot write, a database that does not answer), with a one-line reason on stderr and no
traceback. argparse's own usage errors print the usage line before theirs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from hotline import (
    __version__,
    commands_accounts,
    commands_archive,
    commands_copies,
    commands_custody,
)
from hotline.config import Settings, load_settings, unknown_variables
from hotline.errors import (
    ConfigError,
    EvidenceError,
    HotlineError,
    InputError,
    NotFound,
    NotMigrated,
)
from hotline.logs import setup_logging

log = logging.getLogger("hotline")

EXIT_OK, EXIT_CHECK, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hotline",
        description="Record every hotline call in full, seal it, transcribe it, forward it.",
    )
    p.add_argument("--version", action="version", version=f"hotline {__version__}")
    p.add_argument(
        "--config", metavar="FILE", help="TOML settings file (also $HOTLINE_CONFIG); env wins"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("serve", help="run the service: web UI, API, worker, call sources")
    sub.add_parser("worker", help="run a worker: transcription and delivery jobs")

    ingest = sub.add_parser("ingest", help="import recordings as calls and open draft cases")
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE")
    ingest.add_argument("--caller", required=True, metavar="NUMBER", help="the caller's number")
    ingest.add_argument(
        "--started-at",
        type=_iso_time,
        metavar="ISO8601",
        help="when the call started (default: the file's modification time minus its length)",
    )
    ingest.add_argument("--wait", action="store_true", help="return once transcripts are attached")
    ingest.add_argument("--timeout", type=float, default=1800.0, help="seconds --wait waits")
    ingest.add_argument("--json", action="store_true", help="machine-readable output")

    cases = sub.add_parser("cases", help="list cases, newest first")
    cases.add_argument("--status", help="only cases in this status (draft, forwarded, …)")
    cases.add_argument(
        "--preserved", action="store_true", help="only cases flagged for long-term preservation"
    )
    shown = cases.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit", type=_positive, default=50, help="the newest N cases (default 50)"
    )
    shown.add_argument("--all", action="store_true", help="every case")
    cases.add_argument("--json", action="store_true")

    case = sub.add_parser("case", help="one case")
    case_sub = case.add_subparsers(dest="case_command", required=True, metavar="ACTION")
    show = case_sub.add_parser("show", help="show a case with its recording and transcript")
    show.add_argument("id", help="case id or number (HL-2026-000001)")
    show.add_argument("--json", action="store_true")
    forward = case_sub.add_parser("forward", help="send a case to the case system now")
    forward.add_argument("id", help="case id or number")
    forward.add_argument("--json", action="store_true")

    hooks = sub.add_parser("webhooks", help="case-system endpoints and deliveries")
    hooks_sub = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")
    hooks_list = hooks_sub.add_parser("list", help="endpoints with their delivery counts")
    hooks_list.add_argument("--json", action="store_true")
    add = hooks_sub.add_parser("add", help="add an endpoint (a secret is made if none given)")
    add.add_argument("url")
    add.add_argument("--secret", help="whsec_<base64> shared with the case system")
    add.add_argument("--events", default="", help="comma-separated event types (default: all)")
    for name, text in (("disable", "stop sending to an endpoint"), ("enable", "send again")):
        cmd = hooks_sub.add_parser(name, help=text)
        cmd.add_argument("endpoint_id", type=int)
    test = hooks_sub.add_parser("test", help="send a signed webhook.test event now")
    test.add_argument("endpoint_id", type=int)
    deliveries = hooks_sub.add_parser("deliveries", help="recent deliveries")
    deliveries.add_argument("--status", choices=["pending", "delivered", "dead", "cancelled"])
    deliveries.add_argument("--limit", type=int, default=50)
    deliveries.add_argument("--json", action="store_true")
    replay = hooks_sub.add_parser("replay", help="send dead deliveries again")
    replay.add_argument("delivery_ids", nargs="*", type=int, metavar="DELIVERY_ID")
    replay.add_argument("--all-dead", action="store_true", help="every dead delivery")

    jobs = sub.add_parser("jobs", help="the job queue")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    retry = jobs_sub.add_parser("retry", help="queue failed jobs again, with fresh attempts")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("job_ids", nargs="*", type=int, default=[], metavar="ID")
    which.add_argument("--failed", action="store_true", help="every failed job")

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply pending migrations")
    db_sub.add_parser("status", help="show the schema revision")

    commands_accounts.add_parsers(sub)
    commands_copies.add_parsers(sub)
    commands_custody.add_parsers(sub)
    commands_archive.add_parsers(sub)

    sub.add_parser("doctor", help="check settings, database, evidence store and model")
    return p


def _positive(value: str) -> int:
    if not value.isdecimal() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a number of cases (1 or more), got {value!r}")
    return int(value)


def _iso_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no time zone (add Z or +08:00)")
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        return _fail(exc, EXIT_USAGE)
    long_running = args.command in {"serve", "worker"}
    setup_logging(settings, quiet=not long_running)
    for line in unknown_variables():
        log.warning("%s", line)
    try:
        code = asyncio.run(_dispatch(args, settings))
        if long_running:
            _exit_past_busy_threads(code)
        return code
    except KeyboardInterrupt:
        return 130
    except (InputError, ConfigError, NotFound, NotMigrated) as exc:
        return _fail(exc, EXIT_USAGE)
    except (EvidenceError, HotlineError) as exc:
        return _fail(exc, EXIT_CHECK)
    except OSError as exc:  # a path the system refused: say which, and which setting
        return _fail(settings.describe_os_error(exc), EXIT_CHECK)


def _exit_past_busy_threads(code: int) -> None:
    """A transcription still running on a daemon thread after a graceful stop (its job
    already handed back) must not keep the process alive, nor run during interpreter
    teardown: leave at once."""
    if any(t.daemon and t.is_alive() for t in threading.enumerate()):
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _fail(exc: BaseException | str, code: int) -> int:
    print(f"hotline: error: {exc}", file=sys.stderr)
    return code


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from hotline import commands
    from hotline import commands_webhooks as webhook_commands

    actor = f"cli:{_user()}"

    match args.command:
        case "serve":
            from hotline.service import serve

            await serve(settings)
            return EXIT_OK
        case "worker":
            from hotline.service import run_worker

            await run_worker(settings)
            return EXIT_OK
        case "ingest":
            return await commands.ingest(
                settings,
                args.files,
                caller=args.caller,
                started_at=args.started_at,
                wait=args.wait,
                wait_seconds=args.timeout,
                as_json=args.json,
                actor=actor,
            )
        case "cases":
            return await commands.cases(
                settings,
                status=args.status,
                limit=None if args.all else args.limit,
                as_json=args.json,
                preserved=args.preserved or None,
            )
        case "case" if args.case_command == "forward":
            return await webhook_commands.forward(settings, args.id, as_json=args.json, actor=actor)
        case "case":
            return await commands.case_show(settings, args.id, as_json=args.json)
        case "webhooks":
            return await webhook_commands.run(settings, args, actor=actor)
        case "verify" | "audit":
            return await commands_custody.run(settings, args, actor=actor)
        case "retention" | "archive":
            return await commands_archive.run(settings, args, actor=actor)
        case "db":
            return await commands.db(settings, args.db_command)
        case "jobs":
            return await commands.jobs_retry(settings, None if args.failed else args.job_ids)
        case "doctor":
            return await commands.doctor(settings)
        case "copies":
            return await commands_copies.run(settings, args)
        case "users" | "tokens":
            return await commands_accounts.run(settings, args, actor=actor)
    raise AssertionError(args.command)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
