"""Hashing while an image is written, off the writing thread.

Writing a disc image reads every sealed recording once and writes it once; checking
the recordings against their seals and hashing the image cost two SHA-256 passes over
the same bytes. ``Hasher`` runs them on a thread of their own (hashlib releases the
GIL), fed through a bounded queue, so they overlap with the writing instead of
following it.

``ImageDigest`` hashes the image from the writes themselves. ``pycdlib`` writes the
volume descriptors, path tables and directories first, seeking back and forth in the
first sectors, then every file's data in increasing order (each padded to its sector
by a last byte): so once the first file data arrives the head of the image is final
and is read back once, and from there each write extends the hash, gaps counting as
the zeros they are. A write behind what is already hashed turns it off, and the image
is then hashed from the file after it is written: the result is the same either way.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

_ZEROS = bytes(1 << 16)
_DEPTH = 16
"""Chunks waiting to be hashed (with 1 MiB chunks: 16 MiB held at most)."""


class Hasher:
    """A thread that updates hash objects with the chunks given to it, in order."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, bytes] | None] = queue.Queue(_DEPTH)
        self._thread = threading.Thread(target=self._run, name="archive-hash", daemon=True)
        self._thread.start()

    def update(self, digest: Any, data: bytes) -> None:
        self._queue.put((digest, data))

    def drain(self) -> None:
        """Wait until every chunk given so far is hashed."""
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            digest, data = item
            digest.update(data)
            self._queue.task_done()
        self._queue.task_done()


class ImageDigest:
    """An output file for ``pycdlib.write_fp`` that hashes the image on the way."""

    def __init__(self, out: BinaryIO, data_start: Callable[[], int | None], hasher: Hasher):
        self.out = out
        self.mode = "wb"  # pycdlib checks that it was given a binary file
        self._data_start = data_start
        self._hasher = hasher
        self._digest = hashlib.sha256()
        self._frontier: int | None = None
        self._start: int | None = None
        self._off = False
        self._pos = 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._pos = self.out.seek(offset, whence)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        self.out.flush()

    def fileno(self) -> int:
        return self.out.fileno()

    def write(self, data: bytes) -> int:
        if not self._off:
            self._follow(self._pos, data)
        written = self.out.write(data)
        self._pos += written
        return written

    def _follow(self, pos: int, data: bytes) -> None:
        if self._frontier is None:
            if self._start is None:
                self._start = self._data_start()
                if self._start is None:
                    self._off = True
                    return
            if pos < self._start:
                return  # still the head: descriptors and directories
            self.out.flush()
            head = os.pread(self.out.fileno(), self._start, 0)
            if len(head) < self._start:
                head += bytes(self._start - len(head))
            self._hasher.update(self._digest, head)
            self._frontier = self._start
        if pos < self._frontier:
            self._off = True
            return
        gap = pos - self._frontier
        while gap > 0:
            step = min(gap, len(_ZEROS))
            self._hasher.update(self._digest, _ZEROS[:step])
            gap -= step
        self._hasher.update(self._digest, bytes(data))
        self._frontier = pos + len(data)

    def hexdigest(self, size: int) -> str | None:
        """The image's SHA-256 if the writes allowed it (``size``: the file's size);
        ``None`` when the file must be hashed itself."""
        self._hasher.drain()
        if self._off or self._frontier is None:
            return None
        self.out.flush()
        tail = size - self._frontier
        if tail < 0:
            return None
        fd = self.out.fileno()
        offset = self._frontier
        while tail > 0:
            chunk = os.pread(fd, min(tail, 1 << 20), offset)
            if not chunk:
                return None
            self._digest.update(chunk)
            offset += len(chunk)
            tail -= len(chunk)
        return self._digest.hexdigest()
