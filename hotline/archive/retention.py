"""The retention report (art. 19): which cases' retention periods have ended, which end
soon, and which are kept long-term whatever their period (art. 20).

A case's period runs from the day it opened (local date) for the years its category
keeps (``HOTLINE_RETENTION_CATEGORIES``, by code such as ``late_reporting`` or by its
Chinese name, else ``HOTLINE_RETENTION_YEARS``); a case with no category yet keeps the
longest period of all. A preserved case is never due.

The report only informs. Nothing in hotline deletes evidence (art. 21): what happens
to records whose period ended is the archive office's decision, made outside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.config import Settings
from hotline.evidence.verify import ARCHIVE_ACTION
from hotline.store.tables import AuditEvent, Case

CATEGORY_NAMES = {
    "false_data": "提供不真实或者不完整的统计资料",
    "refusal": "拒绝提供统计资料",
    "late_reporting": "迟报统计资料",
    "obstruction": "拒绝、阻碍统计调查、统计检查",
    "records_tampering": "转移、隐匿、篡改、毁弃原始记录和凭证",
    "no_records": "未按规定设置原始记录、统计台账",
    "other": "其他",
}
"""举报类型 by code, as the settings may name them (the pages' Chinese names)."""


class State(StrEnum):
    DUE = "due"
    """The period ended."""
    SOON = "soon"
    """The period ends within the report's window."""
    PRESERVED = "preserved"
    """Flagged for long-term preservation: never due."""
    KEPT = "kept"
    """The period ends later."""


def years_for(settings: Settings, category: str) -> int:
    """Years a case of ``category`` is kept."""
    if not category:
        return settings.longest_retention_years
    table = settings.retention_by_category
    for name in (category, CATEGORY_NAMES.get(category, "")):
        if name and name in table:
            return table[name]
    return settings.retention_years_for(category)


def period_end(opened: date, years: int) -> date:
    """The day the period ends: the same date ``years`` later (29 February: the 28th)."""
    try:
        return opened.replace(year=opened.year + years)
    except ValueError:
        return opened.replace(year=opened.year + years, day=28)


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What the report needs of a case."""

    id: int
    number: str
    category: str
    created_at: datetime
    preservation_reason: str = ""
    preserved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    case_id: int
    number: str
    category: str
    opened: date
    years: int
    ends: date
    state: State
    days_left: int
    """Days from the report's date to the end of the period (negative: ended)."""
    preservation_reason: str = ""
    archived_on: tuple[str, ...] = ()
    """Disc volumes (labels) that hold the case."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "number": self.number,
            "category": self.category,
            "opened": self.opened.isoformat(),
            "years": self.years,
            "ends": self.ends.isoformat(),
            "state": self.state.value,
            "days_left": self.days_left,
            "preservation_reason": self.preservation_reason or None,
            "archived_on": list(self.archived_on),
        }


def classify(
    facts: CaseFacts,
    settings: Settings,
    today: date,
    within_days: int,
    archived_on: Sequence[str] = (),
) -> Entry:
    opened = facts.created_at.astimezone(settings.tz).date()
    years = years_for(settings, facts.category)
    ends = period_end(opened, years)
    left = (ends - today).days
    if facts.preservation_reason:
        state = State.PRESERVED
    elif left <= 0:
        state = State.DUE
    elif left <= within_days:
        state = State.SOON
    else:
        state = State.KEPT
    return Entry(
        case_id=facts.id,
        number=facts.number,
        category=facts.category,
        opened=opened,
        years=years,
        ends=ends,
        state=state,
        days_left=left,
        preservation_reason=facts.preservation_reason,
        archived_on=tuple(archived_on),
    )


@dataclass(slots=True)
class Report:
    today: date
    within_days: int
    due: list[Entry] = field(default_factory=list)
    soon: list[Entry] = field(default_factory=list)
    preserved: list[Entry] = field(default_factory=list)
    kept: int = 0

    @property
    def total(self) -> int:
        return len(self.due) + len(self.soon) + len(self.preserved) + self.kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(),
            "within_days": self.within_days,
            "counts": {
                "due": len(self.due),
                "soon": len(self.soon),
                "preserved": len(self.preserved),
                "kept": self.kept,
                "total": self.total,
            },
            "due": [e.to_dict() for e in self.due],
            "soon": [e.to_dict() for e in self.soon],
            "preserved": [e.to_dict() for e in self.preserved],
            "deletes_nothing": True,
        }


def build(
    cases: Iterable[CaseFacts],
    settings: Settings,
    today: date,
    within_days: int,
    archived: dict[str, list[str]] | None = None,
) -> Report:
    """The report over ``cases`` (pure): due oldest first, soon soonest first."""
    report = Report(today, within_days)
    for facts in cases:
        entry = classify(
            facts, settings, today, within_days, (archived or {}).get(facts.number, ())
        )
        match entry.state:
            case State.DUE:
                report.due.append(entry)
            case State.SOON:
                report.soon.append(entry)
            case State.PRESERVED:
                report.preserved.append(entry)
            case State.KEPT:
                report.kept += 1
    report.due.sort(key=lambda e: (e.ends, e.number))
    report.soon.sort(key=lambda e: (e.ends, e.number))
    report.preserved.sort(key=lambda e: (e.opened, e.number))
    return report


async def archived_cases(session: AsyncSession) -> dict[str, list[str]]:
    """Case number -> labels of the disc volumes that hold it (from the audit chain)."""
    found: dict[str, list[str]] = {}
    events = await session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.action) == ARCHIVE_ACTION)
        .order_by(col(AuditEvent.seq))
    )
    for ev in events.all():
        for image in ev.details.get("images", []):
            for number in image.get("cases", []):
                found.setdefault(str(number), []).append(str(image.get("label", "")))
    return found


async def report(
    session: AsyncSession,
    settings: Settings,
    today: date,
    within_days: int,
    where: ColumnElement[bool] | None = None,
) -> Report:
    """The report over every case, or those ``where`` selects (the cases a reader may
    see at all)."""
    conn = await session.connection()
    query = sa_select(
        col(Case.id),
        col(Case.number),
        col(Case.category),
        col(Case.created_at),
        col(Case.preservation_reason),
        col(Case.preserved_at),
    ).order_by(col(Case.id))
    if where is not None:
        query = query.where(where)
    rows = await conn.execute(query)
    facts = [
        CaseFacts(int(case_id or 0), number, category, created, reason, preserved)
        for case_id, number, category, created, reason, preserved in rows
    ]
    return build(facts, settings, today, within_days, await archived_cases(session))
