"""Writing and reading images (pycdlib, no database): the image's SHA-256 computed on
the way equals the file's, sealed sources that no longer match stop the image, and
what is read back is what was written."""

from __future__ import annotations

import hashlib
import io
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hotline.archive.iso import Image, write_image
from hotline.archive.layout import DiscFile
from hotline.archive.manifest import memory_file
from hotline.archive.streams import Hasher, ImageDigest
from hotline.errors import EvidenceError
from hotline.evidence.backend import ObjectRef


def _store(blobs: dict[str, bytes]):  # type: ignore[no-untyped-def]
    @contextmanager
    def open_sealed(ref: ObjectRef) -> Iterator[io.BytesIO]:
        yield io.BytesIO(blobs[ref.key])

    return open_sealed


def _sealed(path: str, data: bytes, key: str) -> DiscFile:
    return DiscFile(
        path, len(data), hashlib.sha256(data).hexdigest(), "recording", sealed=ObjectRef(key)
    )


def _write(
    tmp_path: Path, files: list[DiscFile], blobs: dict[str, bytes], name: str
) -> tuple[str, int]:
    return write_image(
        tmp_path / name,
        label="HLA0001V01",
        archive_label="HLA0001",
        number=1,
        of=1,
        files=files,
        capacity=1 << 30,
        open_sealed=_store(blobs),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_digest_on_the_way_is_the_files(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    blobs, files = {}, []
    for i in range(rng.randint(1, 25)):
        data = rng.randbytes(rng.choice([0, 1, 2047, 2048, 2049, rng.randint(3, 3_000_000)]))
        blobs[f"k{i}"] = data
        files.append(_sealed(f"HL-{i % 4}/录音/{i}-mix.wav", data, f"k{i}"))
    files.append(memory_file("HL-0/案件.json", '{"案件": 1}'.encode(), "case"))
    digest, size = _write(tmp_path, files, blobs, "a.iso")
    image = (tmp_path / "a.iso").read_bytes()
    assert (digest, size) == (hashlib.sha256(image).hexdigest(), len(image))
    with Image(tmp_path / "a.iso") as iso:
        assert sorted(iso.files()) == sorted(f.path for f in files)
        for f in files:
            with iso.open(f.path) as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == f.sha256


def test_a_source_that_is_not_what_was_sealed_stops_the_image(tmp_path: Path) -> None:
    good, bad = os.urandom(50_000), os.urandom(40_000)
    files = [_sealed("A/1.wav", good, "good"), _sealed("A/2.wav", bad, "bad")]
    with pytest.raises(EvidenceError, match="sealed recording bad reads back as"):
        _write(tmp_path, files, {"good": good, "bad": bad[:-1] + b"\0"}, "b.iso")
    with pytest.raises(EvidenceError, match=r"\(39999 bytes\), sealed as"):
        _write(tmp_path, files, {"good": good, "bad": bad[:-1]}, "b.iso")
    assert list(tmp_path.iterdir()) == []


def test_writes_behind_what_is_hashed_fall_back_to_the_file(tmp_path: Path) -> None:
    hasher = Hasher()
    try:
        with (tmp_path / "x").open("x+b") as out:
            digest = ImageDigest(out, lambda: 4096, hasher)
            digest.seek(100)
            digest.write(b"head")  # the head, before the data: read back once
            digest.seek(4096)
            digest.write(b"data" * 600)
            digest.seek(7000)
            digest.write(b"after a gap")  # the gap counts as zeros
            out.truncate(9500)  # and a tail past the last write
            out.flush()
            whole = hashlib.sha256((tmp_path / "x").read_bytes()).hexdigest()
            assert digest.hexdigest(out.seek(0, os.SEEK_END)) == whole
            digest.seek(10)
            digest.write(b"late")  # behind the hash: it cannot follow any more
            assert digest.hexdigest(out.seek(0, os.SEEK_END)) is None
    finally:
        hasher.close()
