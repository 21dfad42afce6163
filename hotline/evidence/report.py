"""What ``hotline verify`` found: a section per kind of check, and what each recording's
problem is. Plain data, shared by the checks (``hotline.evidence.verify``,
``hotline.evidence.rows``) and the command that prints them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hotline.evidence.chain_verify import BrokenLink


@dataclass(frozen=True, slots=True)
class RecordingProblem:
    recording_id: int
    sha256: str
    path: str
    problem: str
    """``changed`` (bytes differ from the sealed hash), ``missing``, ``unlocked`` (not
    held in COMPLIANCE mode until the recorded date), ``extra-version`` (the key has
    a version or delete marker that no recording names), ``no-legal-hold`` (its case
    is preserved long-term, its object has no legal hold) or ``stray-legal-hold`` (its
    object has a legal hold that no preserved case needs); and against the chain:
    ``altered`` (the row no longer says what its ``recording.sealed`` event sealed: its
    hash, size, case or version), ``unsealed`` (no such event names the row),
    ``misfiled`` (its key is not the address of its own hash) and ``deleted`` (a
    sealed recording that no row names now)."""
    actual_sha256: str | None = None
    detail: str | None = None
    """The version, and what is wrong with its lock, its hold or the extra version."""
    case: str | None = None
    """The number of the recording's case, where the problem is about it (holds)."""

    def describe(self) -> str:
        where = f"recording {self.recording_id}: {self.path}"
        if self.problem == "missing":
            return f"{where} is missing (sealed {self.sha256})"
        if self.problem == "changed":
            return f"{where} is now {self.actual_sha256}, sealed as {self.sha256}"
        if self.problem == "deleted":
            return f"recording {self.recording_id} is gone: {self.detail}"
        return f"{where}: {self.problem} ({self.detail})"


@dataclass(slots=True)
class Section:
    """One kind of check."""

    name: str
    checked: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    """Why the check did not run (nothing to check with), if it did not."""
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "checked": self.checked,
            "failures": list(self.failures),
            "notes": list(self.notes),
            "skipped": self.skipped,
            **self.figures,
        }


@dataclass(frozen=True, slots=True)
class RecordingRow:
    """What the recordings table says of one recording, for the check against its seal."""

    sha256: str
    size: int
    path: str
    version: str | None
    case_id: int | None


@dataclass(slots=True)
class VerifyReport:
    recordings_checked: int = 0
    bytes_hashed: int = 0
    events_checked: int = 0
    seconds: float = 0.0
    recordings: list[RecordingProblem] = field(default_factory=list)
    broken_link: BrokenLink | None = None
    unclaimed: list[str] = field(default_factory=list)
    """Stored objects no recording names (an upload whose commit failed, reported at
    start as ``recording.orphaned``); not evidence of anything, so not a failure."""
    recording_notes: list[str] = field(default_factory=list)
    """Holds that differ from the flags while a hold job is still to run."""
    chain_head: tuple[int, str] | None = None
    checkpoints: Section = field(default_factory=lambda: Section("checkpoints"))
    timestamps: Section = field(default_factory=lambda: Section("timestamps"))
    witness: Section = field(default_factory=lambda: Section("witness"))
    archives: Section = field(default_factory=lambda: Section("archives"))
    preservation: Section = field(default_factory=lambda: Section("preservation"))
    transcripts: Section = field(default_factory=lambda: Section("transcripts"))

    @property
    def sections(self) -> list[Section]:
        recordings = Section(
            "recordings",
            checked=self.recordings_checked,
            failures=[p.describe() for p in self.recordings],
            notes=list(self.recording_notes),
            figures={"bytes_hashed": self.bytes_hashed},
        )
        chain = Section("chain", checked=self.events_checked)
        if self.broken_link is not None:
            chain.failures.append(
                f"audit chain broken at event {self.broken_link.seq}: {self.broken_link.reason}"
            )
        if self.chain_head is not None:
            chain.figures["head"] = {"seq": self.chain_head[0], "hash": self.chain_head[1]}
        return [
            recordings,
            chain,
            self.checkpoints,
            self.timestamps,
            self.witness,
            self.archives,
            self.preservation,
            self.transcripts,
        ]

    @property
    def ok(self) -> bool:
        return all(section.ok for section in self.sections)

    @property
    def failures(self) -> list[str]:
        return [failure for section in self.sections for failure in section.failures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "recordings_checked": self.recordings_checked,
            "bytes_hashed": self.bytes_hashed,
            "events_checked": self.events_checked,
            "seconds": round(self.seconds, 3),
            "recordings": [
                {
                    "id": p.recording_id,
                    "sha256": p.sha256,
                    "path": p.path,
                    "problem": p.problem,
                    "actual_sha256": p.actual_sha256,
                    "detail": p.detail,
                    "case": p.case,
                }
                for p in self.recordings
            ],
            "unclaimed": list(self.unclaimed),
            "broken_link": None
            if self.broken_link is None
            else {"seq": self.broken_link.seq, "reason": self.broken_link.reason},
            "failures": self.failures,
            "sections": [section.to_dict() for section in self.sections],
        }


Progress = Callable[[int], None]
"""Called with the number of bytes just hashed."""
