"""What ``verify`` makes of a sealed object's protection and of the backend's listing:
pure decisions on facts already read (no I/O).

* ``lock_problem``: a version under Object Lock must be in COMPLIANCE mode until at
  least the date recorded with its recording;
* ``classify``: every stored version and delete marker that no recording names is
  either an *extra version* of a recording's key (an overwrite, a delete attempt: the
  key no longer reads as sealed) or an *unclaimed* object (a key no recording names).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hotline.evidence.backend import ObjectState, StoredVersion

COMPLIANCE = "COMPLIANCE"
_SLACK = timedelta(seconds=1)  # S3 keeps retain-until dates to the second


def lock_problem(state: ObjectState, recorded_until: datetime | None) -> str | None:
    """Why a stored version is not protected as its recording says (``None``: it is)."""
    if state.lock_mode != COMPLIANCE:
        mode = state.lock_mode or "no lock"
        return f"lock mode is {mode}, not {COMPLIANCE}"
    if state.retain_until is None:
        return "no retain-until date"
    if recorded_until is not None and state.retain_until + _SLACK < recorded_until:
        return (
            f"retained until {state.retain_until.isoformat()}, the recording says "
            f"{recorded_until.isoformat()}"
        )
    return None


@dataclass(slots=True)
class Listing:
    """The backend's listing, sorted against what the recordings name."""

    extra: dict[str, list[StoredVersion]] = field(default_factory=dict)
    """By key of a recording: versions and delete markers no recording names."""
    unclaimed: list[StoredVersion] = field(default_factory=list)


def classify(stored: Iterable[StoredVersion], named: dict[str, set[str | None]]) -> Listing:
    """``named``: for each key a recording names, the versions recordings name."""
    listing = Listing()
    for entry in stored:
        versions = named.get(entry.key)
        if versions is None:
            listing.unclaimed.append(entry)
        elif entry.delete_marker or entry.version not in versions:
            listing.extra.setdefault(entry.key, []).append(entry)
    return listing
