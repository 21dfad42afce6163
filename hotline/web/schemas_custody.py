"""Request and response bodies of the custody routes: confidentiality, assignments,
redaction marks, copy requests."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from hotline.casework import Confidentiality
from hotline.web.schemas import In, Out


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


Part = Literal["recording", "transcript", "summary"]
