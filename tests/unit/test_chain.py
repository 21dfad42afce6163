from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

import pytest

from hotline.evidence.chain import GENESIS, canonical, link_hash


def _body(seq: int, **changes: object) -> str:
    fields: dict[str, object] = {
        "seq": seq,
        "at": datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC),
        "actor": "cli:alice",
        "action": "recording.sealed",
        "subject": "recording:1",
        "case_id": 1,
        "details": {"sha256": "ab" * 32, "duration": 27.58, "文件": "录音.wav"},
    }
    fields.update(changes)
    return canonical(**fields)  # type: ignore[arg-type]


def test_canonical_form_is_stable_and_order_free() -> None:
    a = _body(1)
    b = _body(1, details={"文件": "录音.wav", "duration": 27.58, "sha256": "ab" * 32})
    assert a == b
    assert '"at":"2026-11-28T01:02:03.456789+00:00"' in a
    assert "录音" in a  # UTF-8 kept as text


def test_every_field_and_the_previous_hash_matter() -> None:
    base = link_hash(GENESIS, _body(1))
    assert link_hash(GENESIS, _body(1, actor="cli:mallory")) != base
    assert link_hash(GENESIS, _body(1, details={"sha256": "cd" * 32})) != base
    assert link_hash(GENESIS, _body(2)) != base
    assert link_hash("1" * 64, _body(1)) != base
    assert len(base) == 64 and int(base, 16) >= 0


def test_the_canonical_form_and_link_are_exactly_as_documented() -> None:
    """The format verifiers outside the project rebuild: written out by hand."""
    from datetime import timedelta, timezone

    beijing = timezone(timedelta(hours=8))
    body = canonical(
        seq=7,
        at=datetime(2026, 11, 28, 9, 2, 3, 5, tzinfo=beijing),  # stored as UTC
        actor="cli:alice",
        action="case.updated",
        subject="case:3",
        case_id=3,
        details={"b": [1, 2], "a": "录音"},
    )
    assert body == (
        '{"action":"case.updated","actor":"cli:alice","at":"2026-11-28T01:02:03.000005+00:00",'
        '"case_id":3,"details":{"a":"录音","b":[1,2]},"seq":7,"subject":"case:3"}'
    )
    prev = "f" * 64
    expected = hashlib.sha256((prev + "\n" + body).encode("utf-8")).hexdigest()
    assert link_hash(prev, body) == expected
    assert link_hash(GENESIS, body) == hashlib.sha256(f"{'0' * 64}\n{body}".encode()).hexdigest()


def test_times_are_utc_whatever_the_servers_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server in Beijing local time seals the same bytes as one on UTC."""
    at = datetime(2026, 11, 28, 1, 2, 3, 456789, tzinfo=UTC)
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        assert '"at":"2026-11-28T01:02:03.456789+00:00"' in _body(1, at=at)
    finally:
        monkeypatch.undo()
        time.tzset()
