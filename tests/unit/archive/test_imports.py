"""The archive package's import rules (``hotline/archive/__init__.py``): nothing above
it; its pure parts free of the database; the disc's verifier on the standard library
alone, since it must run on any machine with Python."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.imports import imports

ARCHIVE = Path(__file__).resolve().parents[3] / "hotline" / "archive"
ALLOWED = (
    "hotline.archive",
    "hotline.cases",
    "hotline.casework",
    "hotline.evidence",
    "hotline.webhooks",
    "hotline.store",
    "hotline.config",
    "hotline.errors",
)
TYPES_ONLY = {"hotline.service"}  # ``discs.create`` is given the core; typed, not imported
PURE = ("layout.py", "manifest.py", "disc_verify.py", "streams.py")


@pytest.mark.parametrize("path", sorted(ARCHIVE.glob("*.py")), ids=lambda p: p.name)
def test_the_archive_imports_only_what_it_may(path: Path) -> None:
    found = {n for n in imports(path) if n.startswith("hotline")} - TYPES_ONLY
    assert all(name.startswith(ALLOWED) for name in found), found


@pytest.mark.parametrize("name", PURE)
def test_the_pure_parts_touch_no_database(name: str) -> None:
    found = imports(ARCHIVE / name)
    assert not {n for n in found if n.startswith(("sqlmodel", "sqlalchemy", "hotline.store"))}
    assert "asyncio" not in found


def test_the_verifier_on_the_disc_needs_only_the_standard_library() -> None:
    found = {name.partition(".")[0] for name in imports(ARCHIVE / "disc_verify.py")}
    assert found <= set(sys.stdlib_module_names) | {"__future__"}, found
