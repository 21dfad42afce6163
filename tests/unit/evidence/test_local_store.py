"""The evidence store's read side on the local backend: byte ranges, blocking readers,
local files, and what a missing object says; the HTTP range rules it serves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hotline.errors import EvidenceError
from hotline.evidence.files import EvidenceStore, ObjectRef, add_years
from hotline.web.sealed_http import UnsatisfiableRange, byte_range


@pytest.fixture
async def sealed(tmp_path: Path) -> tuple[EvidenceStore, ObjectRef, bytes]:
    store = EvidenceStore(tmp_path / "evidence")
    await store.open()
    data = os.urandom(700_000)
    src = tmp_path / "call.wav"
    src.write_bytes(data)
    result = await store.seal(store.stage(src))
    return store, result.ref, data


async def test_stream_gives_any_range(sealed: tuple[EvidenceStore, ObjectRef, bytes]) -> None:
    store, ref, data = sealed
    whole = b"".join([c async for c in store.stream(ref)])
    assert whole == data
    part = b"".join([c async for c in store.stream(ref, 300_000, 300_010)])
    assert part == data[300_000:300_010]
    tail = b"".join([c async for c in store.stream(ref, 699_990)])
    assert tail == data[699_990:]


async def test_reader_and_local_file(sealed: tuple[EvidenceStore, ObjectRef, bytes]) -> None:
    store, ref, data = sealed
    with store.reader(ref, 10, 20) as fh:
        assert fh.read() == data[10:20]
    async with store.local_file(ref, "not-checked-for-local-files") as path:
        assert path == store.path_of(ref.key) and path.read_bytes() == data


async def test_a_missing_object_says_so(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path / "evidence")
    await store.open()
    ref = ObjectRef(EvidenceStore.relative_for("ab" * 32, ".wav"))
    with pytest.raises(EvidenceError, match="missing"):
        _ = [c async for c in store.stream(ref)]
    assert store.inspect(ref).sha256 is None
    with pytest.raises(EvidenceError, match="missing"):
        await store.legal_hold(ref, True)


async def test_legal_hold_is_not_enforced_by_a_directory(
    sealed: tuple[EvidenceStore, ObjectRef, bytes],
) -> None:
    store, ref, _ = sealed
    assert await store.legal_hold(ref, True) is False


def test_retention_counts_calendar_years() -> None:
    from datetime import UTC, datetime

    assert add_years(datetime(2024, 2, 29, tzinfo=UTC), 30) == datetime(2054, 2, 28, tzinfo=UTC)
    assert (
        add_years(datetime(2026, 12, 1, 8, tzinfo=UTC), 30).isoformat().startswith("2056-12-01T08")
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("bytes=0-99", (0, 100)),
        ("bytes=100-199", (100, 200)),
        ("bytes=500-", (500, 1000)),
        ("bytes=-100", (900, 1000)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=900-5000", (900, 1000)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=9-3", None),
    ],
)
def test_byte_range(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_range(header: str) -> None:
    with pytest.raises(UnsatisfiableRange):
        byte_range(header, 1000)
