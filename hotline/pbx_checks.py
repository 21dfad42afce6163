"""What ``hotline doctor`` says about the Asterisk PBX's shared recordings directory.

* The directory this host reads (``HOTLINE_ASTERISK_RECORDINGS``) is there and can be
  listed.
* The recordings the PBX announced (the Asterisk source's ``recording.started`` audit
  events) lie in the directory as the PBX names it (``HOTLINE_ASTERISK_RECORDINGS_PBX_PATH``,
  by default the same path as here), and this host sees them. The latest announcement
  decides, so a corrected setting is judged by the next call; a mismatch names the
  directory to set.

The running service says the same in ``/api/health`` (the Asterisk source's
``recordings``), from what it saw since it started.

May import: ``hotline.ami``, ``hotline.config``, ``hotline.sources``, ``hotline.store``.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from sqlmodel import col, select

from hotline.ami.recordings import PathMap
from hotline.config import Settings
from hotline.sources import asterisk_config
from hotline.store.db import Database
from hotline.store.tables import AuditEvent, Call, Recording

__all__ = ["Check", "recordings_checks"]

_ANNOUNCED_BY = "system:asterisk"


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    what: str
    detail: str


async def recordings_checks(settings: Settings, db: Database) -> list[Check]:
    """The checks of the shared recordings directory; none without ``HOTLINE_AMI_URL``."""
    if not settings.ami_url:
        return []
    config = asterisk_config(settings)
    local = config.recordings_dir
    if local is None:
        return [
            Check(
                False,
                "pbx recordings",
                "HOTLINE_ASTERISK_RECORDINGS is not set: the PBX's recordings are not "
                "picked up and make no case",
            )
        ]
    pbx = config.pbx_recordings_dir
    named = (
        f"HOTLINE_ASTERISK_RECORDINGS_PBX_PATH {pbx}"
        if settings.asterisk_recordings_pbx_path
        else f"the same path ({pbx}: HOTLINE_ASTERISK_RECORDINGS_PBX_PATH unset)"
    )
    try:
        os.listdir(local)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return [
            Check(
                False,
                "pbx recordings",
                f"HOTLINE_ASTERISK_RECORDINGS: cannot list {local} ({reason})",
            )
        ]
    checks = [Check(True, "pbx recordings", f"{local} readable; the PBX names it {named}")]
    latest = await _latest_announced(db)
    if latest is None:
        checks.append(
            Check(True, "pbx announced", "no recording announced yet (check again after a call)")
        )
        return checks
    name, at, sealed = latest
    when = at.strftime("%Y-%m-%d %H:%M UTC")
    mapped = PathMap(pbx, local).to_local(name)
    if mapped is None:
        checks.append(
            Check(
                False,
                "pbx announced",
                f"the PBX's latest recording, {name} ({when}), lies outside {pbx}: set "
                f"HOTLINE_ASTERISK_RECORDINGS_PBX_PATH={posixpath.dirname(name)} (the "
                f"directory as Asterisk names it; this host reads it at {local})",
            )
        )
    elif not sealed and not mapped.exists():
        checks.append(
            Check(
                False,
                "pbx announced",
                f"the PBX's latest recording, {name} ({when}), is not at {mapped}: is "
                f"HOTLINE_ASTERISK_RECORDINGS ({local}) the directory Asterisk writes to?",
            )
        )
    else:
        where = "sealed" if sealed else "present"
        checks.append(
            Check(True, "pbx announced", f"the latest, {name} ({when}), {where} at {mapped}")
        )
    return checks


async def _latest_announced(db: Database) -> tuple[str, datetime, bool] | None:
    """The latest recording the Asterisk source announced, when, and whether sealed."""
    async with db.session() as s:
        event = (
            await s.exec(
                select(AuditEvent)
                .where(
                    col(AuditEvent.action) == "recording.started",
                    col(AuditEvent.actor) == _ANNOUNCED_BY,
                )
                .order_by(col(AuditEvent.seq).desc())
                .limit(1)
            )
        ).first()
        if event is None or not str(event.details.get("name") or ""):
            return None
        name = str(event.details["name"])
        sealed = (
            await s.exec(
                select(Recording.id)
                .join(Call, col(Call.id) == col(Recording.call_id))
                .where(
                    col(Call.source) == "asterisk",
                    col(Recording.original_name) == PurePosixPath(name).name[:255],
                )
            )
        ).first()
    return name, event.at, sealed is not None
