"""What the one-shot CLI commands do (``cli.py`` parses; this module acts and prints)."""

from __future__ import annotations

import asyncio
import base64
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hotline.cases import case_json, get_case, list_cases, load_views
from hotline.checkpointing import latest_checkpoint
from hotline.config import Settings
from hotline.errors import HotlineError, InputError, RecordingRejected, StartupError
from hotline.intake import TRANSCRIBE, IngestResult
from hotline.pbx_checks import recordings_checks
from hotline.service import Hotline
from hotline.store.tables import Case, Job, JobStatus

EXIT_OK, EXIT_CHECK, EXIT_USAGE = 0, 1, 2


def _print_json(data: Any) -> None:
    from hotline.cli import print_json

    print_json(data)


def _err(message: str) -> None:
    print(f"hotline: error: {message}", file=sys.stderr)


async def ingest(
    settings: Settings,
    files: Sequence[Path],
    *,
    caller: str,
    started_at: datetime | None,
    wait: bool,
    wait_seconds: float,
    as_json: bool,
    actor: str,
) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        results: list[tuple[Path, IngestResult]] = []
        rejected = 0
        for path in files:
            try:
                result = await core.intake.ingest_file(
                    path, caller=caller, started_at=started_at, actor=actor
                )
            except RecordingRejected as exc:
                _err(str(exc))
                rejected += 1
                continue
            results.append((path, result))
            if result.duplicate and not as_json:
                print(
                    f"{path}: already sealed as recording {result.recording.sha256[:12]}… "
                    f"of case {result.case.number}; nothing new stored",
                    file=sys.stderr,
                )
        timed_out = False
        if wait and results:
            timed_out = not await _wait_for_transcripts(
                core, [r.case.id for _, r in results if r.case.id is not None], wait_seconds
            )
        async with core.db.session() as s:
            views = await load_views(s, [r.case for _, r in results])
        if as_json:
            _print_json(
                [
                    {"file": str(path), "duplicate": r.duplicate, "case": case_json(view)}
                    for (path, r), view in zip(results, views, strict=True)
                ]
            )
        else:
            for (_, r), view in zip(results, views, strict=True):
                _print_case_line(case_json(view), settings, new=not r.duplicate)
        if timed_out:
            _err(f"transcription not finished after {wait_seconds:.0f} s; the jobs stay queued")
            return EXIT_CHECK
        if rejected:
            return EXIT_USAGE
        if wait and any(
            j["status"] == JobStatus.FAILED for v in views for j in case_json(v)["jobs"]
        ):
            return EXIT_CHECK
        return EXIT_OK
    finally:
        await core.close()


async def _wait_for_transcripts(core: Hotline, case_ids: list[int], seconds: float) -> bool:
    """Run the cases' transcription jobs here (another worker may take them first) and
    return when each is done or failed; False on timeout."""
    async with core.db.session() as s:
        job_ids = [
            j.id
            for j in (
                await s.exec(
                    select(Job).where(col(Job.case_id).in_(case_ids), col(Job.kind) == TRANSCRIBE)
                )
            ).all()
            if j.id is not None
        ]
    worker = core.worker(only_ids=job_ids)
    await worker.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            async with core.db.session() as s:
                pending = (
                    await s.exec(
                        select(func.count())
                        .select_from(Job)
                        .where(
                            col(Job.id).in_(job_ids),
                            col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                        )
                    )
                ).one()
            if not pending:
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await worker.stop()


def _local(iso: str | None, settings: Settings) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M:%S")


def _job_state(case: dict[str, Any]) -> str:
    jobs = [j for j in case["jobs"] if j["kind"] == TRANSCRIBE]
    if not jobs:
        return "-"
    job = jobs[-1]
    if job["status"] == JobStatus.FAILED:
        return f"transcription failed: {job['last_error']}"
    return f"transcription {job['status']}"


def _print_case_line(case: dict[str, Any], settings: Settings, *, new: bool = True) -> None:
    rec = case["recording"] or {}
    kept = case.get("preservation")
    flag = f"  [kept long-term: {kept['reason']}]" if kept else ""
    print(
        f"{case['number']}  {case['status']:<12} caller {case['caller']['number'] or '-':<16} "
        f"{_local(case['created_at'], settings)}  {rec.get('duration', 0):7.2f} s  "
        f"sha256 {rec.get('sha256', '')[:12]}…{'' if new else '  (already sealed)'}"
        f"{flag}"
    )
    transcript = case["transcript"]
    if transcript:
        text = transcript["text"].replace("\n", " ")
        print(f"    v{transcript['version']}: {text[:100]}{'…' if len(text) > 100 else ''}")
    else:
        print(f"    {_job_state(case)}")


async def cases(
    settings: Settings,
    *,
    status: str | None,
    limit: int | None,
    as_json: bool,
    preserved: bool | None = None,
) -> int:
    """The newest ``limit`` cases (``None``: all); says on stderr when there are more.
    ``preserved``: only the cases flagged for long-term preservation."""
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            found = await list_cases(s, limit=limit, status=status, preserved=preserved)
            views = await load_views(s, found)
            total = len(found)
            if limit is not None and total == limit:
                query = select(func.count()).select_from(Case)
                if status:
                    query = query.where(col(Case.status) == status)
                if preserved is not None:
                    flagged = col(Case.preservation_reason) != ""
                    query = query.where(flagged if preserved else ~flagged)
                total = int((await s.exec(query)).one())
        data = [case_json(v) for v in views]
    finally:
        await core.close()
    if total > len(data):
        print(
            f"hotline: the newest {len(data)} of {total} cases are listed; "
            "--limit N or --all for more",
            file=sys.stderr,
        )
    if as_json:
        _print_json(data)
    elif not data:
        print("no cases")
    else:
        for case in data:
            _print_case_line(case, settings)
    return EXIT_OK


async def case_show(settings: Settings, ref: str, *, as_json: bool) -> int:
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            (view,) = await load_views(s, [await get_case(s, ref)])
        data = case_json(view)
    finally:
        await core.close()
    if as_json:
        _print_json(data)
        return EXIT_OK
    print(f"{data['number']}  ({data['status']})")
    print(f"  caller      {data['caller']['number']}  {data['caller']['e164'] or ''}")
    print(
        f"  call        {_local(data['call']['started_at'], settings)} → "
        f"{_local(data['call']['ended_at'], settings)}  via {data['call']['source']}"
    )
    for rec in data["recordings"]:
        print(
            f"  recording   {rec['sha256']}  {rec['duration']:.2f} s  {rec['content_type']} "
            f"({rec['codec']}, {rec['sample_rate']} Hz, {rec['channels']} ch)"
        )
    transcript = data["transcript"]
    if transcript is None:
        print(f"  transcript  {_job_state(data)}")
    else:
        print(
            f"  transcript  v{transcript['version']} ({transcript['source']}, "
            f"{transcript['language']}, {transcript['model']})"
        )
        for seg in transcript["segments"]:
            who = f"{seg['speaker']}: " if seg.get("speaker") else ""
            print(f"    [{seg['start']:7.2f} – {seg['end']:7.2f}] {who}{seg['text']}")
    return EXIT_OK


async def db(settings: Settings, action: str) -> int:
    core = Hotline(settings)
    try:
        if action == "upgrade":
            before = await core.db.current_revision()
            await core.db.upgrade()
            after = await core.db.current_revision()
            print(f"database at revision {after}" + ("" if before != after else " (no change)"))
        else:
            current, head = await core.db.current_revision(), core.db.head_revision()
            print(f"database at revision {current or 'none'}; this hotline needs {head}")
            return EXIT_OK if current == head else EXIT_CHECK
    finally:
        await core.close()
    return EXIT_OK


async def jobs_retry(settings: Settings, job_ids: list[int] | None) -> int:
    """``hotline jobs retry ID…|--failed``: failed jobs run again with fresh attempts.
    An id that is no job, or a job that has not failed, is bad input: nothing changes."""
    core = Hotline(settings)
    await core.open()
    try:
        async with core.db.session() as s:
            query = select(Job).where(col(Job.status) == JobStatus.FAILED)
            if job_ids is not None:
                query = select(Job).where(col(Job.id).in_(job_ids))
            found = {job.id or 0: job for job in (await s.exec(query.order_by(col(Job.id)))).all()}
        for job_id in job_ids or ():
            job = found.get(job_id)
            if job is None:
                raise InputError(f"there is no job {job_id}")
            if job.status != JobStatus.FAILED:
                raise InputError(f"job {job_id} is {job.status}, not failed: nothing to retry")
        retried = await core.queue.retry_failed(list(found))
        for job in found.values():
            case = f", case {job.case_id}" if job.case_id is not None else ""
            print(f"job {job.id} ({job.kind}{case}) queued again; it had failed: {job.last_error}")
        print(f"{retried} job{'s' if retried != 1 else ''} queued again")
    finally:
        await core.close()
    return EXIT_OK


async def _doctor_checkpoints(core: Hotline, line: Callable[[bool, str, str], None]) -> None:
    """How the audit chain is signed, and whether the timestamp authority answers."""
    settings = core.settings
    every = (
        f"every {settings.checkpoint_interval_seconds:g} s when the chain moved"
        if settings.checkpoint_interval_seconds
        else "on demand only (HOTLINE_CHECKPOINT_INTERVAL_SECONDS=0)"
    )
    try:
        async with core.db.session() as s:
            newest = await latest_checkpoint(s)
        last = (
            f"newest at event {newest.event_seq} ({newest.checkpoint.at:%Y-%m-%d %H:%M}Z)"
            if newest
            else "none yet"
        )
    except (HotlineError, SQLAlchemyError):
        last = "the database says nothing yet"  # its own line above says why
    line(True, "checkpoints", f"signed {every}; {last}")
    if not settings.tsa_url:
        line(True, "timestamps", "none: checkpoints are signed only (set HOTLINE_TSA_URL)")
        return
    try:
        token = await core.timestamper.fetch(f"hotline doctor {uuid.uuid4()}\n".encode())
        line(
            True,
            "timestamps",
            f"{settings.tsa_url} answers, token from {core.timestamper.trust().name} "
            f"at {token.gen_time:%Y-%m-%d %H:%M:%S}Z",
        )
    except HotlineError as exc:
        line(False, "timestamps", str(exc))


def _data_dir_problem(settings: Settings) -> str | None:
    """Why the data directory cannot be used (made if missing, then written), or None."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return settings.describe_os_error(exc)
    try:
        with tempfile.TemporaryFile(dir=settings.data_dir):
            pass
    except OSError as exc:
        return (
            f"HOTLINE_DATA_DIR: {settings.data_dir}: cannot write there "
            f"({exc.strerror or exc}); choose a directory this user can write"
        )
    return None


async def doctor(settings: Settings) -> int:
    """Check what the service needs; one line each; exit 1 if any fails."""
    failures = 0

    def line(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'}  {what:<16} {detail}")

    problem = _data_dir_problem(settings)
    line(problem is None, "data directory", problem or str(settings.data_dir.resolve()))
    try:
        core = Hotline(settings)
    except StartupError as exc:
        if problem is None:
            line(False, "database", str(exc))
        return EXIT_CHECK
    try:
        current, head = await core.db.current_revision(), core.db.head_revision()
        if current == head:
            line(True, "database", f"revision {current}")
        elif current is None and settings.embedded_database:
            line(True, "database", "new; created on first start")
        else:
            line(
                False, "database", f"at {current or 'none'}, needs {head}: run `hotline db upgrade`"
            )
    except HotlineError as exc:
        line(False, "database", str(exc))
    try:
        for check in await core.store.check():
            line(check.ok, "evidence store", check.detail)
    except (HotlineError, OSError) as exc:
        line(False, "evidence store", str(exc))
    try:
        key = core.key
        line(True, "signing key", f"{key.path}, Ed25519, SHA-256 {key.fingerprint}")
        der = base64.b64encode(key.public.der()).decode()
        line(True, "public key", f"{der} (DER, base64: keep it beside the fingerprint)")
    except HotlineError as exc:
        line(False, "signing key", str(exc))
    except OSError as exc:
        line(False, "signing key", settings.describe_os_error(exc))
    await _doctor_checkpoints(core, line)
    try:
        model = await core.transcription.model()
        line(True, "speech model", model.model_id)
    except HotlineError as exc:
        line(False, "speech model", str(exc))
    try:
        for pbx in await recordings_checks(settings, core.db):
            line(pbx.ok, pbx.what, pbx.detail)
    except HotlineError as exc:
        line(False, "pbx recordings", str(exc))
    await core.close()
    return EXIT_OK if not failures else EXIT_CHECK
