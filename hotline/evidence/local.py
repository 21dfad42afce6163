"""The local evidence backend: a directory, files made read-only, the embedded default.

A staged copy (already inside the store's directory, synced) is hard-linked to its
final content-addressed name. ``os.link`` refuses to replace an existing name, so
nothing here can overwrite evidence, and no function here deletes it. The directory's
permission bits stop mistakes, not the service's own account or root: for evidence that
nobody can alter, use the S3 backend under Object Lock.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path

from hotline.errors import EvidenceError
from hotline.evidence.backend import (
    BackendCheck,
    ObjectRef,
    ObjectState,
    Placed,
    Progress,
    Readable,
    StoredVersion,
)
from hotline.evidence.hashing import sha256_file

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


class LocalBackend:
    name = "local"
    keeps_versions = False
    holds = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def describe(self) -> str:
        return str(self.root)

    def open(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot create the evidence store at {self.root}: {exc}") from exc

    def check(self) -> list[BackendCheck]:
        free = self.free_bytes() or 0
        return [BackendCheck(free > 1 << 30, f"{self.root} writable, {free / 1e9:.1f} GB free")]

    def path_of(self, key: str) -> Path:
        return self.root / key

    def put(
        self,
        key: str,
        source: Path,
        sha256: str,
        size: int,
        retain_until: datetime,
        progress: Progress | None = None,
    ) -> Placed:
        final = self.root / key
        reused = False
        try:
            os.chmod(source, _READ_ONLY)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, final)
            except FileExistsError:
                existing, _ = sha256_file(final)
                if existing != sha256:
                    raise EvidenceError(
                        f"{final} exists with different content (SHA-256 {existing}): "
                        "the evidence store was altered; run `hotline verify`"
                    ) from None
                reused = True
            _fsync_dir(final.parent)
        except OSError as exc:
            raise EvidenceError(f"cannot seal {source.name}: {exc}") from exc
        if progress is not None:
            progress(size)
        # Permission bits cannot hold a file for a date.
        return Placed(ObjectRef(key), retain_until=None, reused=reused)

    def find(self, key: str, sha256: str) -> tuple[ObjectRef, datetime | None] | None:
        try:
            digest, _ = sha256_file(self.root / key)
        except FileNotFoundError:
            return None
        return (ObjectRef(key), None) if digest == sha256 else None

    def reader(
        self, ref: ObjectRef, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[Readable]:
        return self._reader(ref, start, end)

    @contextmanager
    def _reader(self, ref: ObjectRef, start: int, end: int | None) -> Iterator[Readable]:
        try:
            fh = (self.root / ref.key).open("rb")
        except FileNotFoundError:
            raise EvidenceError(f"sealed recording {ref.key} is missing from {self.root}") from None
        except OSError as exc:
            raise EvidenceError(f"cannot read sealed recording {ref.key}: {exc}") from exc
        with fh:
            if start:
                fh.seek(start)
            yield fh if end is None else _Bounded(fh, end - start)

    def local_path(self, ref: ObjectRef) -> Path | None:
        return self.root / ref.key

    def exists(self, ref: ObjectRef) -> bool:
        return (self.root / ref.key).is_file()

    def inspect(self, ref: ObjectRef, progress: Progress | None = None) -> ObjectState:
        try:
            digest, size = sha256_file(self.root / ref.key, progress)
        except FileNotFoundError:
            return ObjectState(None, 0)
        return ObjectState(digest, size)

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        base = self.root / prefix
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = Path(dirpath) / name
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                yield StoredVersion(path.relative_to(self.root).as_posix(), None, size)

    def legal_hold(self, ref: ObjectRef, on: bool) -> bool:
        if not self.exists(ref):
            raise EvidenceError(f"sealed recording {ref.key} is missing from {self.root}")
        return False

    def legal_hold_state(self, ref: ObjectRef) -> bool | None:
        return None

    def free_bytes(self) -> int | None:
        try:
            st = os.statvfs(self.root if self.root.exists() else self.root.parent)
        except OSError:
            return 0
        return st.f_bavail * st.f_frsize


class _Bounded:
    """A read-only view of the next ``remaining`` bytes of a file."""

    def __init__(self, fh: Readable, remaining: int) -> None:
        self._fh = fh
        self._remaining = max(remaining, 0)

    def read(self, n: int = -1, /) -> bytes:
        if self._remaining <= 0:
            return b""
        n = self._remaining if n < 0 else min(n, self._remaining)
        data = self._fh.read(n)
        self._remaining -= len(data)
        return data


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
