"""Roles, the permissions each one grants, and the principal a request acts as.

Art. 11 and 21 of the rule: recordings are kept by designated people, and private
copying or leaking is forbidden; art. 18: personal privacy is protected. So listening
to recordings and reading transcripts is a permission of its own, caller numbers and
reporters' identities are masked unless a role needs them, and an operator sees the
content of the calls they took, not of everyone's.

Separation of duties (art. 11): the ``admin`` runs the installation (accounts, tokens,
endpoints) and is not a keeper of evidence, so the role reads no recording, transcript
or reporter's identity. A person may hold more than one role (``hotline users grant
NAME --role head``): what they may do is the union of their roles' permissions, and
the four-eyes rules (a copy request is never approved by its requester) go by person,
not by role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"
    """Takes report calls: sees live calls with their numbers, fills the intake form."""
    HANDLER = "handler"
    """Turns recordings into cases: listens, corrects transcripts, edits, forwards."""
    SUPERVISOR = "supervisor"
    """The agency head's delegate: what a handler does, plus the audit trail."""
    HEAD = "head"
    """负责人: the agency head or their formal deputy. Approves copies, sets
    confidentiality, lifts long-term preservation flags; sees every case."""
    AUDITOR = "auditor"
    """Supervises recording practice (art. 19): audit trail and case metadata only."""
    ADMIN = "admin"
    """Runs the installation: accounts, tokens, endpoints, health and metrics; case
    metadata masked; no recordings, transcripts or reporters' identities."""


class Permission(StrEnum):
    LIVE_READ = "live.read"
    """Live calls and their events."""
    LIVE_CALLER = "live.caller"
    """Caller numbers of live calls, unmasked (the operator is talking to them)."""
    INTAKE_WRITE = "intake.write"
    """The intake form attached to a live call."""
    CASES_READ = "cases.read"
    """Every case: fields (personal data masked), history."""
    CASES_READ_ALL = "cases.read.all"
    """Cases of every confidentiality level, ``state`` included (the agency head)."""
    CASES_READ_OWN = "cases.read.own"
    """Cases whose call this user took: fields, recording and transcript, unmasked."""
    CONTENT_READ = "content.read"
    """Recordings and transcripts of every case."""
    CASES_WRITE = "cases.write"
    """Case fields and transcript corrections."""
    CASES_FORWARD = "cases.forward"
    CALLER_UNMASK = "caller.unmask"
    """Reveal a masked caller number or reporter identity (an audited act)."""
    AUDIT_READ = "audit.read"
    METRICS_READ = "metrics.read"
    """Prometheus metrics and the detailed health report."""
    ACCOUNTS_MANAGE = "accounts.manage"
    COPIES_REQUEST = "copies.request"
    """Record a party's request for a copy of a case's records (art. 17)."""
    COPIES_APPROVE = "copies.approve"
    """Approve or refuse a copy request (the agency head, art. 17)."""
    CONFIDENTIALITY_SET = "confidentiality.set"
    """Change a case's confidentiality level (art. 18)."""
    PRESERVATION_MARK = "preservation.mark"
    """Flag a case for long-term preservation (art. 20)."""
    PRESERVATION_LIFT = "preservation.lift"
    """Lift a long-term preservation flag (the agency head)."""


_HANDLING = {
    Permission.COPIES_REQUEST,
    Permission.PRESERVATION_MARK,
    Permission.CASES_READ,
    Permission.CONTENT_READ,
    Permission.CASES_WRITE,
    Permission.CASES_FORWARD,
    Permission.CALLER_UNMASK,
}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(
        {
            Permission.LIVE_READ,
            Permission.LIVE_CALLER,
            Permission.INTAKE_WRITE,
            Permission.CASES_READ_OWN,
        }
    ),
    Role.HANDLER: frozenset(_HANDLING),
    Role.SUPERVISOR: frozenset(
        _HANDLING | {Permission.LIVE_READ, Permission.AUDIT_READ, Permission.METRICS_READ}
    ),
    Role.HEAD: frozenset(
        _HANDLING
        | {
            Permission.LIVE_READ,
            Permission.AUDIT_READ,
            Permission.METRICS_READ,
            Permission.COPIES_REQUEST,
            Permission.COPIES_APPROVE,
            Permission.CONFIDENTIALITY_SET,
            Permission.PRESERVATION_MARK,
            Permission.PRESERVATION_LIFT,
            Permission.CASES_READ_ALL,
        }
    ),
    Role.AUDITOR: frozenset(
        {Permission.CASES_READ, Permission.AUDIT_READ, Permission.METRICS_READ}
    ),
    Role.ADMIN: frozenset(
        {
            Permission.ACCOUNTS_MANAGE,
            Permission.METRICS_READ,
            Permission.AUDIT_READ,
            Permission.CASES_READ,
            Permission.LIVE_READ,
        }
    ),
}


def permissions_of(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    """What a holder of all of ``roles`` may do."""
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return frozenset(granted)


def parse_roles(value: str) -> frozenset[Role]:
    """Extra roles as stored (``head,auditor``); unknown names are ignored."""
    known = {r.value for r in Role}
    return frozenset(Role(v) for v in (p.strip() for p in value.split(",")) if v in known)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: a signed-in user or an API token."""

    kind: str
    """``user`` or ``token``."""
    id: int
    name: str
    """The user name, or the token's name."""
    role: Role
    display_name: str = ""
    language: str = ""
    session_id: str | None = None
    """The session row's id (a digest) when signed in with a cookie."""
    csrf_token: str | None = None
    must_change_password: bool = False
    extra_roles: frozenset[Role] = frozenset()
    """Roles granted beside ``role`` (a person only; tokens have one role)."""

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset({self.role}) | self.extra_roles

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    @property
    def actor(self) -> str:
        """How the audit chain names this principal."""
        return f"user:{self.name}" if self.kind == "user" else f"token:{self.name}#{self.id}"

    @property
    def username(self) -> str | None:
        return self.name if self.kind == "user" else None

    def can(self, permission: Permission) -> bool:
        if not self.extra_roles:
            return permission in ROLE_PERMISSIONS[self.role]
        return permission in self.permissions

    def can_any(self, *permissions: Permission) -> bool:
        return any(self.can(p) for p in permissions)
