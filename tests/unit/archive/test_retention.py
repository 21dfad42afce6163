"""The retention report, pure: periods per category (by code or Chinese name), the
day a period ends, and which cases are due, due soon, or kept long-term."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from hotline.archive.retention import (
    CATEGORY_NAMES,
    CaseFacts,
    State,
    build,
    period_end,
    years_for,
)
from hotline.casework import CATEGORIES
from hotline.config import load_settings

SETTINGS = load_settings(
    environ={
        "HOTLINE_RETENTION_YEARS": "30",
        "HOTLINE_RETENTION_CATEGORIES": "迟报统计资料=1,refusal=10,其他=50",
        "HOTLINE_TIMEZONE": "Asia/Shanghai",
    }
)
TODAY = date(2026, 12, 1)


def test_years_by_code_or_chinese_name_and_the_longest_without_a_category() -> None:
    assert years_for(SETTINGS, "late_reporting") == 1  # named in Chinese
    assert years_for(SETTINGS, "refusal") == 10  # named by code
    assert years_for(SETTINGS, "false_data") == 30  # the default
    assert years_for(SETTINGS, "") == 50  # no category yet: the longest of all


def test_the_chinese_names_are_the_pages_names() -> None:
    zh = json.loads(
        (Path(__file__).resolve().parents[3] / "hotline/web/messages/zh.json").read_text()
    )
    assert set(CATEGORY_NAMES) == set(CATEGORIES)
    assert all(zh[f"category.{code}"] == name for code, name in CATEGORY_NAMES.items())


def test_a_period_ends_on_the_same_date_years_later() -> None:
    assert period_end(date(2025, 3, 1), 1) == date(2026, 3, 1)
    assert period_end(date(2024, 2, 29), 1) == date(2025, 2, 28)
    assert period_end(date(2024, 2, 29), 4) == date(2028, 2, 29)


def _case(number: str, category: str, opened: datetime, preserved: bool = False) -> CaseFacts:
    return CaseFacts(
        id=int(number[-3:]),
        number=number,
        category=category,
        created_at=opened,
        preservation_reason="party_objection" if preserved else "",
    )


def test_due_soon_preserved_and_kept() -> None:
    cases = [
        _case("HL-2024-001", "late_reporting", datetime(2024, 6, 1, 2, tzinfo=UTC)),
        _case("HL-2025-002", "late_reporting", datetime(2025, 12, 20, 2, tzinfo=UTC)),
        _case("HL-2023-003", "late_reporting", datetime(2023, 1, 5, tzinfo=UTC), True),
        _case("HL-2024-004", "false_data", datetime(2024, 6, 1, tzinfo=UTC)),
        _case("HL-2025-005", "late_reporting", datetime(2025, 2, 1, tzinfo=UTC)),
        # 30 November 16:30 UTC is 1 December in Shanghai: the period ends today.
        _case("HL-2025-006", "late_reporting", datetime(2025, 11, 30, 16, 30, tzinfo=UTC)),
    ]
    report = build(cases, SETTINGS, TODAY, 30, {"HL-2023-003": ["HOTLINE_20261201_1OF1"]})
    # Oldest first.
    assert [e.number for e in report.due] == ["HL-2024-001", "HL-2025-005", "HL-2025-006"]
    assert report.due[-1].days_left == 0 and report.due[-1].opened == date(2025, 12, 1)
    assert report.due[0].ends == date(2025, 6, 1) and report.due[0].days_left == -548
    (soon,) = report.soon
    assert (soon.number, soon.ends, soon.days_left) == ("HL-2025-002", date(2026, 12, 20), 19)
    (kept_long,) = report.preserved
    assert kept_long.state is State.PRESERVED and kept_long.days_left < 0  # never due
    assert kept_long.archived_on == ("HOTLINE_20261201_1OF1",)
    assert report.kept == 1 and report.total == 6
    data = report.to_dict()
    assert data["counts"] == {"due": 3, "soon": 1, "preserved": 1, "kept": 1, "total": 6}
    assert data["deletes_nothing"] is True
