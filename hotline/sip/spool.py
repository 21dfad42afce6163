"""The SIP line's spool: recordings in progress, and what to do with them after a crash.

When a call is answered the line writes, beside the recording, a small *claim*: the
call it belongs to (``.<name>.call``, JSON). The claim goes away only once the
recording's ``RecordingFinished`` fact has been stored. So a claim still on disk when
the line starts means a call whose recording never reached a case: the process was
killed, the machine lost power, or the store refused the fact. ``leftovers`` finds
them, finishes a recording that was still being written (``salvage``: what reached the
disk before the crash is kept, with a proper header), and says what to report. A
partial recording without a claim (written by a version that made none) is finished
the same way and reported as an orphan.

Pure file work, no asyncio: the line runs ``leftovers`` in a thread at start and emits
``recovery_facts`` for each.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from hotline.calls import (
    CallEnded,
    CallFact,
    CallStarted,
    Incident,
    IncidentKind,
    RecordingFinished,
)
from hotline.rtp.recording import RATE, final_name, partial_name, salvage

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    """Which call a recording in the spool belongs to."""

    call_id: str
    caller: str
    callee: str
    answered_at: str
    """ISO 8601, UTC."""

    @property
    def answered(self) -> datetime:
        return datetime.fromisoformat(self.answered_at)


@dataclass(frozen=True, slots=True)
class Leftover:
    """A recording an earlier run of the line did not hand over."""

    path: Path
    """The finished file, under its final name."""
    claim: Claim | None
    claim_path: Path | None
    seconds: float | None
    """How much audio a salvaged recording holds; ``None`` when it had been finished."""
    stopped_at: datetime
    """When the file was last written: the latest the call can have been recorded."""


class Claims:
    """The claims of this run's recordings, by call: dropped once the store took the
    call's ``RecordingFinished`` (``stored``), kept on disk when it never did (``lost``),
    so the next start hands the recording over again. Hooks for ``FactCourier``."""

    def __init__(self) -> None:
        self._paths: dict[str, Path] = {}

    def hold(self, call_id: str, path: Path) -> None:
        self._paths[call_id] = path

    def forget(self, call_id: str) -> None:
        """Leave the call's claim on disk for the next start."""
        self._paths.pop(call_id, None)

    async def stored(self, fact: CallFact) -> None:
        if isinstance(fact, RecordingFinished):
            path = self._paths.pop(fact.call_id, None)
            if path is not None:
                drop_claim(path)

    async def lost(self, fact: CallFact) -> None:
        if isinstance(fact, RecordingFinished):
            self.forget(fact.call_id)


def claim_name(recording: Path) -> Path:
    return recording.with_name(f".{recording.name}.call")


def write_claim(recording: Path, claim: Claim) -> Path:
    """Write the claim for ``recording`` (atomically: a torn claim is never read)."""
    path = claim_name(recording)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(asdict(claim), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def drop_claim(path: Path) -> None:
    path.unlink(missing_ok=True)


def read_claim(path: Path) -> Claim | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Claim(
            call_id=str(data["call_id"]),
            caller=str(data["caller"]),
            callee=str(data["callee"]),
            answered_at=str(data["answered_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("unreadable claim %s: %s", path, exc)
        return None


def leftovers(directory: Path) -> list[Leftover]:
    """Every recording in ``directory`` that an earlier run left unreported, finished
    and under its final name, oldest first. Files it cannot finish are logged and left
    where they are (they are tried again at the next start)."""
    found: list[Leftover] = []
    for tmp in directory.glob(".*.call.tmp"):
        tmp.unlink(missing_ok=True)  # a claim torn while written: its .part tells the rest
    claimed: set[Path] = set()
    for claim_path in sorted(directory.glob(".*.call")):
        recording = claim_path.with_name(claim_path.name[1 : -len(".call")])
        claimed.add(partial_name(recording))
        claim = read_claim(claim_path)
        item = _finish(partial_name(recording), recording, claim, claim_path)
        if item is None and not partial_name(recording).exists():
            # Finished before the crash, but its fact may not have been stored.
            done = _published(recording)
            if done is not None:
                item = Leftover(done, claim, claim_path, None, _mtime(done))
            else:
                log.error("claim %s has no recording; dropping it", claim_path.name)
                drop_claim(claim_path)
        if item is not None:
            found.append(item)
    for partial in sorted(directory.glob(".*.wav.part")):
        if partial not in claimed:
            item = _finish(partial, final_name(partial), None, None)
            if item is not None:
                found.append(item)
    return sorted(found, key=lambda item: item.stopped_at)


def recovery_facts(leftover: Leftover, now: datetime) -> tuple[str, list[CallFact]]:
    """The call facts that report ``leftover``, and the call ID they are about."""
    claim, name = leftover.claim, leftover.path.name
    call_id = claim.call_id if claim is not None else f"recovered:{name}"
    salvaged = leftover.seconds is not None
    cause = "the line stopped during the call"
    facts: list[CallFact] = []
    if claim is not None:
        # Said again whether or not it was stored (the store ignores a call it has): if
        # it was lost, the call would otherwise be adopted without its caller.
        facts.append(
            CallStarted(
                call_id=call_id,
                source="sip",
                at=claim.answered,
                caller=claim.caller,
                callee=claim.callee,
            )
        )
    details = {"recovered": "salvaged after an unclean stop" if salvaged else "handed over again"}
    facts.append(
        RecordingFinished(
            call_id=call_id,
            at=leftover.stopped_at,
            path=leftover.path,
            started_at=claim.answered if claim is not None else leftover.stopped_at,
            details=details | ({"end_cause": cause} if salvaged else {}),
        )
    )
    if claim is None:
        detail = f"recording {name} belongs to no known call; {leftover.seconds or 0:.1f} s kept"
        facts.append(Incident(kind=IncidentKind.ORPHANED, at=now, call_id=call_id, detail=detail))
    elif salvaged:
        detail = (
            f"{cause}: {leftover.seconds:.1f} s recorded up to "
            f"{leftover.stopped_at:%Y-%m-%d %H:%M:%S} UTC were kept; the rest is missing"
        )
        facts.append(Incident(kind=IncidentKind.INCOMPLETE, at=now, call_id=call_id, detail=detail))
        facts.append(CallEnded(call_id=call_id, at=leftover.stopped_at, answered=True, cause=cause))
    else:  # finished before the stop: its end, in case that fact was lost with the rest
        facts.append(
            CallEnded(
                call_id=call_id,
                at=leftover.stopped_at,
                answered=True,
                cause="ended before the line stopped",
            )
        )
    return call_id, facts


def _finish(
    partial: Path, recording: Path, claim: Claim | None, claim_path: Path | None
) -> Leftover | None:
    if not partial.exists():
        return None
    stopped_at = _mtime(partial)
    try:
        path, frames = salvage(partial, recording)
    except OSError as exc:
        log.error("cannot finish the partial recording %s: %s", partial, exc)
        return None
    log.warning("finished the partial recording %s (%.1f s)", path.name, frames / RATE)
    return Leftover(path, claim, claim_path, frames / RATE, stopped_at)


def _published(recording: Path) -> Path | None:
    """The finished file of ``recording`` (publishing adds -1, -2… to a taken name)."""
    if recording.exists():
        return recording
    taken = sorted(recording.parent.glob(f"{recording.stem}-*{recording.suffix}"))
    return taken[-1] if taken else None


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
