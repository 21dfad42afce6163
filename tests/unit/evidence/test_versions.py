"""verify's pure decisions: a version's lock against its recording, and the listing
sorted into extra versions and unclaimed objects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hotline.evidence.backend import ObjectState, StoredVersion
from hotline.evidence.versions import classify, lock_problem

UNTIL = datetime(2056, 12, 1, tzinfo=UTC)


def test_compliance_until_the_recorded_date_is_fine() -> None:
    state = ObjectState("ab", 1, lock_mode="COMPLIANCE", retain_until=until_plus(0))
    assert lock_problem(state, UNTIL) is None
    assert lock_problem(ObjectState("ab", 1, "COMPLIANCE", until_plus(-0.5)), UNTIL) is None


def until_plus(seconds: float) -> datetime:
    return UNTIL + timedelta(seconds=seconds)


def test_other_modes_and_earlier_dates_are_named() -> None:
    assert "GOVERNANCE" in (lock_problem(ObjectState("ab", 1, "GOVERNANCE", UNTIL), UNTIL) or "")
    assert "no lock" in (lock_problem(ObjectState("ab", 1), None) or "")
    assert "no retain-until" in (lock_problem(ObjectState("ab", 1, "COMPLIANCE"), UNTIL) or "")
    early = ObjectState("ab", 1, "COMPLIANCE", UNTIL - timedelta(days=1))
    assert "the recording says" in (lock_problem(early, UNTIL) or "")


def test_classify_extra_versions_and_unclaimed_objects() -> None:
    stored = [
        StoredVersion("sha256/aa/a.wav", "v1", 10),
        StoredVersion("sha256/aa/a.wav", "v2", 3),
        StoredVersion("sha256/aa/a.wav", "v3", 0, delete_marker=True),
        StoredVersion("sha256/bb/b.wav", "v9", 10),
        StoredVersion("sha256/cc/c.wav", "v4", 10),
    ]
    listing = classify(stored, {"sha256/aa/a.wav": {"v1"}, "sha256/bb/b.wav": {"v9"}})
    assert [v.version for v in listing.extra["sha256/aa/a.wav"]] == ["v2", "v3"]
    assert "sha256/bb/b.wav" not in listing.extra
    assert [v.key for v in listing.unclaimed] == ["sha256/cc/c.wav"]


def test_local_files_have_no_versions() -> None:
    listing = classify([StoredVersion("sha256/aa/a.wav", None, 10)], {"sha256/aa/a.wav": {None}})
    assert not listing.extra and not listing.unclaimed
