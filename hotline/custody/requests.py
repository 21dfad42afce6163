"""The copy request's state machine (art. 17), as one table of transitions and the
rules on who may take each step. Pure: facts in, the next state out, or
``CopyRefused`` saying why not.

    requested ──approve──► approved ──issue──► issued ──download──► issued
        │                     │                   │
        └──refuse──► refused  └──revoke──► revoked ◄──revoke──┘

Four eyes: the head approves or refuses, never the person who recorded the request,
whatever roles that person holds. A request for a ``state`` case (or a full copy of a
``commercial`` one) cannot be approved at all. Every step is taken by a person, not an
API token, so the audit trail names who did it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hotline.auth.roles import Permission, Principal
from hotline.custody.levels import copy_blockers
from hotline.errors import CopyRefused


class CopyState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"
    ISSUED = "issued"
    REVOKED = "revoked"


class Step(StrEnum):
    APPROVE = "approve"
    REFUSE = "refuse"
    ISSUE = "issue"
    DOWNLOAD = "download"
    REVOKE = "revoke"


TRANSITIONS: dict[tuple[CopyState, Step], CopyState] = {
    (CopyState.REQUESTED, Step.APPROVE): CopyState.APPROVED,
    (CopyState.REQUESTED, Step.REFUSE): CopyState.REFUSED,
    (CopyState.APPROVED, Step.ISSUE): CopyState.ISSUED,
    (CopyState.APPROVED, Step.REVOKE): CopyState.REVOKED,
    (CopyState.ISSUED, Step.DOWNLOAD): CopyState.ISSUED,
    (CopyState.ISSUED, Step.REVOKE): CopyState.REVOKED,
}

NEEDS: dict[Step, Permission] = {
    Step.APPROVE: Permission.COPIES_APPROVE,
    Step.REFUSE: Permission.COPIES_APPROVE,
    Step.REVOKE: Permission.COPIES_APPROVE,
    Step.ISSUE: Permission.COPIES_REQUEST,
    Step.DOWNLOAD: Permission.COPIES_REQUEST,
}


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the rules look at."""

    state: CopyState
    requested_by: str
    level: str
    """The case's confidentiality level now."""
    full: bool
    """A copy without redaction."""


def next_state(facts: RequestFacts, step: Step, by: Principal) -> CopyState:
    """The state ``step`` by ``by`` leads to; ``CopyRefused`` if it may not be taken."""
    if by.username is None:
        raise CopyRefused("a person takes each step of a copy request, not an API token")
    if not by.can(NEEDS[step]):
        raise CopyRefused(f"{by.username} may not {step.value} copies (role {by.role.value})")
    target = TRANSITIONS.get((facts.state, step))
    if target is None:
        raise CopyRefused(
            f"a copy request that is {facts.state.value} cannot be {_done(step)}", status=409
        )
    if step in (Step.APPROVE, Step.REFUSE) and by.username == facts.requested_by:
        raise CopyRefused(
            f"{by.username} recorded this request and cannot also decide it (four eyes)"
        )
    if step in (Step.APPROVE, Step.ISSUE, Step.DOWNLOAD):
        blockers = copy_blockers(facts.level, full=facts.full)
        if blockers:
            raise CopyRefused("; ".join(blockers), status=409)
    return target


def _done(step: Step) -> str:
    return {
        Step.APPROVE: "approved",
        Step.REFUSE: "refused",
        Step.ISSUE: "issued",
        Step.DOWNLOAD: "downloaded",
        Step.REVOKE: "revoked",
    }[step]
