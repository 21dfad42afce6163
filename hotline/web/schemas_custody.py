"""Request and response bodies of the custody routes: confidentiality, assignments,
redaction marks, copy requests."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hotline.casework import Confidentiality
from hotline.web.schemas import In, Out, Query


class LevelIn(In):
    level: Confidentiality = Field(description="normal, personal, commercial or state")
    reason: str = Field(min_length=2, max_length=500, description="kept in the audit trail")


class AssigneeIn(In):
    username: str = Field(min_length=2, max_length=64)


class AssigneeOut(Out):
    username: str
    assigned_by: str
    assigned_at: datetime


class CustodyOut(Out):
    level: str
    assignees: list[AssigneeOut] = Field(
        description="who, besides the head, sees the case when its level is state"
    )


class CopyRequestOut(Out):
    """A copy request as every listing shows it: the party's ID number masked."""

    id: int
    number: str = Field(description="the copy's number: the case number + -C01, -C02…")
    case_id: int
    case_number: str
    status: Literal["requested", "approved", "refused", "issued", "revoked"]
    party_name: str
    party_id_type: str
    party_id_number: str = Field(description="masked")
    purpose: str
    what: list[Literal["recording", "transcript", "summary"]]
    range_start: float | None
    range_end: float | None
    redacted: bool
    full_reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str
    issued_by: str | None
    issued_at: datetime | None
    zip_name: str | None
    zip_sha256: str | None
    zip_size: int | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str
    redactions: dict[str, int] = Field(description="what the issued copy redacted, by kind")


class CopyListOut(Out):
    requests: list[CopyRequestOut]


class CopiesQuery(Query):
    status: Literal["requested", "approved", "refused", "issued", "revoked"] | None = None
    case_id: int | None = Field(None, ge=1, le=2**62)


class DecisionIn(In):
    comment: str = Field("", max_length=2000, description="needed to refuse or revoke")
