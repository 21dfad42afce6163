"""``transcriber`` stands on its own: it imports nothing from ``hotline``, and its
codec and WAV reader, which the service shares, stay pure (no I/O, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imports

PACKAGE = Path(__file__).resolve().parents[3] / "transcriber"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_the_transcriber_imports_nothing_from_hotline(path: Path) -> None:
    found = imports(path)
    assert not any(name == "hotline" or name.startswith("hotline.") for name in found), found


@pytest.mark.parametrize("module", ["g711.py", "wav.py"])
def test_the_shared_codecs_are_pure(module: str) -> None:
    found = imports(PACKAGE / module)
    allowed = {"__future__", "struct", "collections.abc", "dataclasses", "typing", "numpy"}
    allowed |= {"numpy.typing", "transcriber", "transcriber.g711", "transcriber.errors"}
    assert found <= allowed, found - allowed
