"""Legal holds: which sealed objects must carry one.

A case flagged for long-term preservation (art. 20, ``hotline.archive.preservation``)
keeps its recordings beyond any retention period. On S3 under Object Lock that is a
*legal hold* on each of its objects: while the hold is on, the storage refuses to
delete the object even after its COMPLIANCE retention has ended; a hold has no end
date of its own and stays until it is cleared. Identical bytes from several calls are
one object (one key, one version), so an object is held while *any* preserved case
has a recording in it, and only then.

The holds are set by a job (``LEGAL_HOLD``, run by ``hotline.holds``) that ``follow``
enqueues in the transaction that flags or unflags a case, or that seals a recording
into a flagged one: the flag is committed first, and an object store that is down
delays the hold, never the flag. The jobs share one ordering key, so they run one
after another, each making the holds of its case's objects match the flags as they
are when it runs: whatever order the flags changed in, the last job leaves the
holds as the flags say.

``mismatch`` is ``hotline verify``'s decision about one object's hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqlmodel import col, select

from hotline.evidence.backend import ObjectRef
from hotline.store.tables import Case, Job, JobStatus, Recording

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from hotline.config import Settings

LEGAL_HOLD = "legal_hold"
"""The job that makes a case's holds match the flags."""
ORDERING_KEY = "legal-holds"
ATTEMPTS = 30
"""With the queue's backoff (doubling, at most an hour apart): about a day of outage."""

NOT_HELD = "no-legal-hold"
"""``verify``: an object of a preserved case without its legal hold."""
STRAY = "stray-legal-hold"
"""``verify``: a legal hold on an object no preserved case uses."""


class Enqueues(Protocol):
    """The job queue, as ``follow`` uses it (``hotline.jobs.JobQueue``)."""

    def enqueue(
        self,
        session: AsyncSession,
        kind: str,
        payload: dict[str, Any],
        *,
        case_id: int | None = None,
        ordering_key: str | None = None,
        max_attempts: int | None = None,
    ) -> object: ...


def follow(
    session: AsyncSession, queue: Enqueues, settings: Settings, case: Case, why: str
) -> None:
    """In the caller's transaction: have the holds of ``case``'s objects follow its
    flag once it is committed. ``why`` (``marked``, ``lifted``, ``sealed``) is kept with
    the job. Nothing where the evidence is a local directory, which has no holds."""
    if not settings.evidence_url:
        return
    assert case.id is not None
    queue.enqueue(
        session,
        LEGAL_HOLD,
        {"case_id": case.id, "why": why},
        case_id=case.id,
        ordering_key=ORDERING_KEY,
        max_attempts=ATTEMPTS,
    )


@dataclass(frozen=True, slots=True)
class Wanted:
    """One object of a case, and the preserved cases that use it."""

    ref: ObjectRef
    recordings: tuple[int, ...]
    """The case's recordings kept in this object."""
    preserved_by: tuple[str, ...]
    """Numbers of the preserved cases with a recording in it (this one or others)."""

    @property
    def on(self) -> bool:
        return bool(self.preserved_by)


async def wanted(session: AsyncSession, case_id: int) -> list[Wanted]:
    """The objects of ``case_id``'s recordings, each with whether it must be held."""
    case = await session.get(Case, case_id)
    if case is None:
        return []
    recs = (
        await session.exec(
            select(Recording)
            .where(col(Recording.call_id) == case.call_id)
            .order_by(col(Recording.id))
        )
    ).all()
    objects: dict[ObjectRef, list[int]] = {}
    for rec in recs:
        assert rec.id is not None
        objects.setdefault(ObjectRef(rec.stored_path, rec.object_version), []).append(rec.id)
    if not objects:
        return []
    rows = (
        await session.exec(
            select(Recording.stored_path, Recording.object_version, Case.number)
            .join(Case, col(Case.call_id) == col(Recording.call_id))
            .where(
                col(Case.preservation_reason) != "",
                col(Recording.stored_path).in_(sorted({ref.key for ref in objects})),
            )
        )
    ).all()
    preserving: dict[ObjectRef, set[str]] = {}
    for key, version, number in rows:
        preserving.setdefault(ObjectRef(key, version), set()).add(number)
    return [
        Wanted(ref, tuple(ids), tuple(sorted(preserving.get(ref, ()))))
        for ref, ids in objects.items()
    ]


async def pending_cases(session: AsyncSession) -> set[int]:
    """Cases whose hold job has not run yet (queued, retrying, or running)."""
    rows = (
        await session.exec(
            select(Job.case_id).where(
                col(Job.kind) == LEGAL_HOLD,
                col(Job.status).in_([JobStatus.QUEUED, JobStatus.RUNNING]),
            )
        )
    ).all()
    return {case_id for case_id in rows if case_id is not None}


@dataclass(frozen=True, slots=True)
class Use:
    """A recording kept in an object, and its case."""

    recording_id: int
    case_id: int | None
    case_number: str | None
    preserved: bool


def mismatch(held: bool, uses: Sequence[Use]) -> tuple[str, list[Use]] | None:
    """What is wrong with an object's hold, and the recordings it concerns: ``NOT_HELD``
    for the recordings of preserved cases when it has none, ``STRAY`` for all of them
    when it has one that no preserved case needs; ``None`` when the hold is right."""
    preserved = [use for use in uses if use.preserved]
    if preserved and not held:
        return NOT_HELD, preserved
    if held and not preserved:
        return STRAY, list(uses)
    return None
