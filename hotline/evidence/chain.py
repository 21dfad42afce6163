"""The audit hash chain, pure: each event's hash covers its content and the hash of the
event before it, so changing, removing or reordering any event breaks every link after.

    hash(n) = SHA-256( hash(n-1) + "\\n" + canonical JSON of event n )

The canonical JSON has sorted keys, no insignificant whitespace, UTF-8 text, and times
as ISO 8601 in UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    case_id: int | None,
    details: dict[str, Any],
) -> str:
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "subject": subject,
        "case_id": case_id,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def link_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def transcript_digest(text: str, segments: Sequence[Any]) -> str:
    """SHA-256 of a transcript version's words (its text and segments, canonical JSON),
    kept in the event that made the version so that ``hotline verify`` can tell the
    version from one rewritten in the database."""
    body = json.dumps(
        {"text": text, "segments": list(segments)},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
