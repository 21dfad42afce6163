from __future__ import annotations

from datetime import UTC, datetime

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
