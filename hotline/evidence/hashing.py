"""SHA-256 of files and streams, read in 1 MiB blocks (hashlib releases the GIL on
large buffers, so several run at once on a thread pool)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from hotline.evidence.backend import Progress, Readable

CHUNK = 1 << 20


def sha256_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """SHA-256 and size of a file."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
            if progress is not None:
                progress(n)
    return digest.hexdigest(), size


def sha256_stream(stream: Readable, progress: Progress | None = None) -> tuple[str, int]:
    """SHA-256 and size of everything ``stream`` yields."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return digest.hexdigest(), size
