"""The protocol cores stay sans-I/O: no asyncio, no sockets, nothing from the asyncio
adapters, the store or the web; the whole package imports nothing above ``hotline.calls``
(and the fact courier every source shares)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.imports import imports

ROOT = Path(__file__).resolve().parents[3] / "hotline"
CORES = [
    "sip/message.py",
    "sip/address.py",
    "sip/sdp.py",
    "sip/digest.py",
    "sip/timers.py",
    "sip/server.py",
    "sip/client.py",
    "sip/dialog.py",
    "sip/register.py",
    "sip/agent.py",
    "sip/outgoing.py",
    "sip/spool.py",
    "sip/events.py",
    "sip/status.py",
    "rtp/packet.py",
    "rtp/g711.py",
    "rtp/jitterbuffer.py",
    "rtp/timeline.py",
    "rtp/recording.py",
]
ADAPTERS = {
    "hotline.sip.line",
    "hotline.sip.transport",
    "hotline.sip.call",
    "hotline.sip.bridge",
    "hotline.rtp.session",
    "hotline.courier",
}


@pytest.mark.parametrize("module", CORES)
def test_core_is_sans_io(module: str) -> None:
    found = imports(ROOT / module)
    assert not found & {"asyncio", "socket", "selectors", *ADAPTERS}, found


@pytest.mark.parametrize("path", sorted([*ROOT.glob("sip/*.py"), *ROOT.glob("rtp/*.py")]), ids=str)
def test_imports_stay_below_the_line(path: Path) -> None:
    hotline = {name for name in imports(path) if name.startswith(("hotline", "transcriber"))}
    allowed = (
        "hotline.sip",
        "hotline.rtp",
        "hotline.calls",
        "hotline.courier",
        "hotline.errors",
        "transcriber.g711",
    )
    assert all(
        name in ("hotline", "transcriber") or name.startswith(allowed) for name in hotline
    ), hotline
    if "/rtp/" in str(path):
        assert not any(name.startswith("hotline.sip") for name in hotline), hotline
