"""Walking the audit chain for ``hotline verify``: every link, every checkpoint's
signature against the chain it signed, and checkpoints kept elsewhere (witnesses)
against the chain as it is now.

What each check can show, given who attacks:

- someone who changes, removes or reorders an event without recomputing the later
  hashes: the first broken link;
- someone who can write the database and recomputes every later hash (a valid chain
  again), but holds no signing key: the first checkpoint after the change, whose signed
  hash no longer matches (or whose signature fails, if they rewrote it too);
- someone who also holds the key, or who cuts the chain's tail with its checkpoints:
  only checkpoints kept outside (``--witness``), which name events the chain no longer
  has, or has with other hashes.

Without any checkpoint, a rewrite by whoever can write the database cannot be told
from the real history: the report says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import SQLModel

from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.evidence.checkpoints import ACTION, Checkpoint, CheckpointError, WitnessLine
from hotline.evidence.keys import PublicKey
from hotline.store.db import Database
from hotline.store.tables import AuditEvent

_BATCH = 1000
_EVENTS = SQLModel.metadata.tables["audit_events"]


@dataclass(frozen=True, slots=True)
class BrokenLink:
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class SeenCheckpoint:
    """A checkpoint event found in the chain, and whether it still holds."""

    event_seq: int
    checkpoint: Checkpoint | None
    problem: str | None = None

    def describe(self) -> str:
        if self.checkpoint is None:
            return f"checkpoint at event {self.event_seq}"
        at = self.checkpoint.at.strftime("%Y-%m-%d %H:%M:%SZ")
        return (
            f"checkpoint at event {self.event_seq} (signed {at}, head event {self.checkpoint.seq})"
        )


SEALED = "recording.sealed"
"""The audit action that seals a recording: what its row must still say."""


@dataclass(frozen=True, slots=True)
class Seal:
    """What a recording's ``recording.sealed`` event says it was: its row must still say
    the same, and no row may claim bytes no event sealed."""

    event_seq: int
    recording_id: int
    sha256: str
    size: int | None
    case_id: int | None
    version: str | None


def seal_of(ev: Any) -> Seal | None:
    """What a ``recording.sealed`` event (a row or an ``AuditEvent``) says it sealed."""
    subject = str(ev.subject or "")
    kind, _, rid = subject.partition(":")
    details = ev.details if isinstance(ev.details, dict) else {}
    if kind != "recording" or not rid.isascii() or not rid.isdecimal():
        return None
    size = details.get("size")
    version = details.get("version")
    return Seal(
        ev.seq,
        int(rid),
        str(details.get("sha256", "")),
        size if isinstance(size, int) else None,
        ev.case_id,
        None if version is None else str(version),
    )


@dataclass(slots=True)
class ChainWalk:
    """What the walk found: the head, the checkpoints, and the events other checks
    asked for (hashes at given sequence numbers, events of given actions)."""

    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    broken_link: BrokenLink | None = None
    checkpoints: list[SeenCheckpoint] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    collected: list[AuditEvent] = field(default_factory=list)
    seals: dict[int, Seal] = field(default_factory=dict)
    """Each recording's seal, by recording id (kept with ``seals=True``)."""


def _check_checkpoint(
    ev: Any, prev_seq: int, prev_hash: str, public: PublicKey | None
) -> SeenCheckpoint:
    try:
        cp = Checkpoint.from_details(ev.details)
    except CheckpointError as exc:
        return SeenCheckpoint(ev.seq, None, f"its details are not a checkpoint ({exc})")
    if cp.seq != prev_seq:
        return SeenCheckpoint(
            ev.seq, cp, f"it signs event {cp.seq}, not the event before it ({prev_seq})"
        )
    if public is not None and cp.key != public.fingerprint:
        return SeenCheckpoint(
            ev.seq,
            cp,
            f"it was signed by key {cp.key[:16]}…, not this installation's "
            f"({public.fingerprint[:16]}…)",
        )
    if public is not None and not cp.signed_by(public):
        return SeenCheckpoint(
            ev.seq, cp, "its signature does not verify: the checkpoint was altered"
        )
    if cp.hash != prev_hash:
        return SeenCheckpoint(
            ev.seq,
            cp,
            f"event {prev_seq} no longer has the hash it signed: the chain was rewritten "
            f"at or before event {prev_seq}",
        )
    return SeenCheckpoint(ev.seq, cp)


async def walk_chain(
    db: Database,
    public: PublicKey | None,
    *,
    remember: frozenset[int] = frozenset(),
    collect: frozenset[str] = frozenset(),
    seals: bool = False,
) -> ChainWalk:
    """Check every link in order; check each checkpoint event against the event before
    it (and its signature, with ``public``). ``remember``: sequence numbers whose hashes
    to keep; ``collect``: actions whose events to keep; ``seals``: keep what each
    ``recording.sealed`` event says (a few numbers each, not the event)."""
    walk = ChainWalk()
    prev_hash, expected_seq = GENESIS, 1
    while True:
        # Plain rows, no ORM objects: the walk reads each event once and keeps none.
        async with db.connection() as conn:
            batch: Sequence[Any] = (
                await conn.execute(
                    _EVENTS.select()
                    .where(_EVENTS.c.seq >= expected_seq)
                    .order_by(_EVENTS.c.seq)
                    .limit(_BATCH)
                )
            ).all()
        if not batch:
            return walk
        for ev in batch:
            walk.events += 1
            if ev.seq != expected_seq:
                walk.broken_link = BrokenLink(
                    expected_seq, f"event {expected_seq} is missing (next is {ev.seq})"
                )
                return walk
            if ev.prev_hash != prev_hash:
                walk.broken_link = BrokenLink(
                    ev.seq, "its previous-hash does not match the event before it"
                )
                return walk
            body = canonical(
                seq=ev.seq,
                at=ev.at,
                actor=ev.actor,
                action=ev.action,
                subject=ev.subject,
                case_id=ev.case_id,
                details=ev.details,
            )
            if link_hash(prev_hash, body) != ev.hash:
                walk.broken_link = BrokenLink(
                    ev.seq, "its content does not match its hash (the event was altered)"
                )
                return walk
            if ev.action == ACTION:
                walk.checkpoints.append(_check_checkpoint(ev, ev.seq - 1, prev_hash, public))
            if ev.action in collect:
                walk.collected.append(AuditEvent(**ev._mapping))
            if seals and ev.action == SEALED:
                seal = seal_of(ev)
                if seal is not None:
                    walk.seals.setdefault(seal.recording_id, seal)
            if ev.seq in remember:
                walk.hashes[ev.seq] = ev.hash
            prev_hash, expected_seq = ev.hash, ev.seq + 1
            walk.head_seq, walk.head_hash = ev.seq, ev.hash


def witness_problems(walk: ChainWalk, lines: Sequence[WitnessLine], public: PublicKey) -> list[str]:
    """Each checkpoint kept elsewhere that the chain contradicts, named by its line."""
    problems = []
    for entry in lines:
        cp = entry.checkpoint
        where = f"witness line {entry.line} (event {cp.seq}, signed {cp.at:%Y-%m-%d %H:%M:%SZ})"
        if not cp.signed_by(public):
            problems.append(f"{where}: its signature does not verify with this installation's key")
        elif walk.broken_link is not None and cp.seq >= walk.broken_link.seq:
            continue  # the broken link is reported already; nothing to compare past it
        elif cp.seq > walk.head_seq:
            problems.append(
                f"{where}: the chain ends at event {walk.head_seq}; the events after it were cut"
            )
        elif walk.hashes.get(cp.seq) != cp.hash:
            problems.append(
                f"{where}: event {cp.seq} has another hash now: the chain was rewritten "
                f"at or before event {cp.seq}"
            )
    return problems


def witness_summary(lines: Sequence[WitnessLine]) -> dict[str, Any]:
    seqs = [entry.checkpoint.seq for entry in lines]
    return {"checkpoints": len(seqs), "newest_seq": max(seqs) if seqs else None}
