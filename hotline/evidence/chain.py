"""The audit hash chain, pure: each event's hash covers its content and the hash of the
event before it, so changing, removing or reordering any event breaks every link after.

    hash(n) = SHA-256( hash(n-1) + "\\n" + canonical JSON of event n )

The canonical JSON has sorted keys, no insignificant whitespace, UTF-8 text, and times
as ISO 8601 in UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
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
