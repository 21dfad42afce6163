"""The ``legal_hold`` job: the legal holds on a case's objects in the evidence store
follow the preservation flags (``hotline.evidence.holds`` says which objects must be
held, and why one object can be held for several cases).

For each object of the case's recordings the job reads its hold and sets or clears it
where it differs from what the flags want now. Each change is an audit event of the
case whose flag moved (``recording.legal_hold_set``, ``recording.legal_hold_cleared``);
a lift that leaves an object held because another preserved case uses it says so too
(``recording.legal_hold_kept``). An object store that is down fails the attempt and the
queue tries again with its backoff, for about a day; a job that gives up is listed in
``/api/health``, and ``hotline verify`` names every object still without its hold.

May import: ``hotline.evidence``, ``hotline.jobs``, ``hotline.worker``,
``hotline.store``, ``hotline.errors``.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from hotline.evidence.audit import append_audit
from hotline.evidence.files import EvidenceStore
from hotline.evidence.holds import Wanted, wanted
from hotline.jobs import ClaimedJob, PermanentJobError
from hotline.store.db import Database
from hotline.store.tables import Case
from hotline.worker import Lease

log = logging.getLogger(__name__)

ACTOR = "system:legal-hold"


class LegalHolds:
    """The ``legal_hold`` job's handler."""

    def __init__(self, db: Database, store: EvidenceStore) -> None:
        self.db = db
        self.store = store

    async def __call__(self, job: ClaimedJob, lease: Lease) -> None:
        case_id = int(job.payload["case_id"])
        why = str(job.payload.get("why", ""))
        if await self.store.has_holds():
            async with self.db.session() as s:
                case = await s.get(Case, case_id)
                targets = await wanted(s, case_id)
            if case is None:
                raise PermanentJobError(f"case {case_id} does not exist")
            for target in targets:
                await self._apply(case, target, why)
        async with self.db.session() as s:
            await lease.complete_in(s)

    async def _apply(self, case: Case, target: Wanted, why: str) -> None:
        extra = {"case_id": case.id}
        now = await self.store.legal_hold_state(target.ref)
        if now is None:
            # Gone from the store: `hotline verify` reports it as missing.
            log.warning("%s is missing: no legal hold to set", target.ref, extra=extra)
            return
        if now == target.on and not (now and why == "lifted"):
            return
        if now != target.on:
            await self.store.legal_hold(target.ref, target.on)
            log.info(
                "legal hold %s on %s (case %s)",
                "set" if target.on else "cleared",
                target.ref,
                case.number,
                extra=extra,
            )
        async with self.db.session() as s:
            await append_audit(
                s,
                actor=ACTOR,
                action=(
                    "recording.legal_hold_kept"
                    if now == target.on
                    else "recording.legal_hold_set"
                    if target.on
                    else "recording.legal_hold_cleared"
                ),
                subject=f"recording:{target.recordings[0]}",
                case_id=case.id,
                details={
                    "number": case.number,
                    "sha256": PurePosixPath(target.ref.key).stem,
                    "key": target.ref.key,
                    "version": target.ref.version,
                    "recordings": list(target.recordings),
                    "cases": list(target.preserved_by),
                },
            )
