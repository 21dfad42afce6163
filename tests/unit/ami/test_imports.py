"""The Asterisk source imports nothing above the call facts: not the store, the
evidence store, intake or the web (``hotline/ami/__init__.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

AMI = Path(__file__).resolve().parents[3] / "hotline" / "ami"
ALLOWED = ("hotline.ami", "hotline.calls", "hotline.courier", "hotline.errors")


CORES = ("message.py", "protocol.py", "tracker.py", "state.py", "model.py", "completeness.py")
ADAPTERS = {"hotline.ami.client", "hotline.ami.pickup", "hotline.ami.source", "hotline.courier"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(AMI.glob("*.py")), ids=lambda p: p.name)
def test_the_asterisk_source_imports_only_what_it_may(path: Path) -> None:
    found = {name for name in _imports(path) if name.startswith("hotline")}
    assert all(name.startswith(ALLOWED) for name in found), found


@pytest.mark.parametrize("core", CORES)
def test_the_protocol_core_is_sans_io(core: str) -> None:
    found = _imports(AMI / core)
    assert not found & {"asyncio", "socket", "selectors", *ADAPTERS}, found
