"""The Asterisk source imports nothing above the call facts: not the store, the
evidence store, intake or the web (``hotline/ami/__init__.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imports

AMI = Path(__file__).resolve().parents[3] / "hotline" / "ami"
ALLOWED = (
    "hotline.ami",
    "hotline.calls",
    "hotline.courier",
    "hotline.errors",
    "transcriber.wav",
    "transcriber.errors",
)


CORES = ("message.py", "protocol.py", "tracker.py", "state.py", "model.py", "completeness.py")
ADAPTERS = {"hotline.ami.client", "hotline.ami.pickup", "hotline.ami.source", "hotline.courier"}


@pytest.mark.parametrize("path", sorted(AMI.glob("*.py")), ids=lambda p: p.name)
def test_the_asterisk_source_imports_only_what_it_may(path: Path) -> None:
    found = {name for name in imports(path) if name.startswith(("hotline", "transcriber"))}
    assert all(name.startswith(ALLOWED) for name in found), found


@pytest.mark.parametrize("core", CORES)
def test_the_protocol_core_is_sans_io(core: str) -> None:
    found = imports(AMI / core)
    assert not found & {"asyncio", "socket", "selectors", *ADAPTERS}, found
