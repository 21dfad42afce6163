"""The write-once file store for recordings.

A recording enters by *copy* (the PBX's file is never moved or touched) into a
temporary name inside the store, is fsynced while its SHA-256 is computed, and is then
linked to its final, content-addressed name ``sha256/ab/abcd….wav`` and made read-only.
``os.link`` refuses to replace an existing name, so nothing here can overwrite evidence,
and no function here deletes it.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hotline.errors import EvidenceError

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


@dataclass(frozen=True, slots=True)
class Staged:
    """A copy inside the store, hashed and synced, not yet sealed."""

    tmp_path: Path
    sha256: str
    size: int
    suffix: str


def sha256_file(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb", buffering=0) as fh:
        buf = bytearray(_CHUNK)
        view = memoryview(buf)
        while n := fh.readinto(buf):
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


class EvidenceStore:
    """Sealed recordings under ``root``; ``relative`` paths are what the database keeps."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._incoming = root / ".incoming"

    def open(self) -> None:
        try:
            self._incoming.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot create the evidence store at {self.root}: {exc}") from exc

    def path_of(self, relative: str) -> Path:
        return self.root / relative

    def open_sealed(self, relative: str) -> BinaryIO:
        """A sealed file, opened for reading only (copies are made from it)."""
        try:
            return (self.root / relative).open("rb")
        except OSError as exc:
            raise EvidenceError(
                f"cannot read the sealed file {relative}: {exc}; run `hotline verify`"
            ) from exc

    @staticmethod
    def relative_for(sha256: str, suffix: str) -> str:
        return f"sha256/{sha256[:2]}/{sha256}{suffix}"

    def stage(self, source: Path) -> Staged:
        """Copy ``source`` into the store under a temporary name, hashing and syncing it."""
        self.open()
        suffix = source.suffix.lower() if source.suffix.lower() in {".wav", ".gsm"} else ".wav"
        tmp = self._incoming / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb", buffering=0) as src, tmp.open("xb", buffering=0) as dst:
                buf = bytearray(_CHUNK)
                view = memoryview(buf)
                while n := src.readinto(buf):
                    digest.update(view[:n])
                    written = 0
                    while written < n:
                        written += dst.write(view[written:n])
                    size += n
                os.fsync(dst.fileno())
        except OSError as exc:
            self.discard(Staged(tmp, "", 0, suffix))
            if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise EvidenceError(
                    f"the evidence store at {self.root} is full ({exc.strerror}); "
                    f"{source} was not taken: free space and ingest it again"
                ) from exc
            raise EvidenceError(f"cannot copy {source} into the evidence store: {exc}") from exc
        return Staged(tmp, digest.hexdigest(), size, suffix)

    def discard(self, staged: Staged) -> None:
        """Remove a staged copy that was not sealed (it is not evidence yet)."""
        try:
            staged.tmp_path.unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove the unsealed copy %s", staged.tmp_path)

    def seal(self, staged: Staged) -> str:
        """Give the staged copy its final read-only name; return the relative path.

        If a file with the same content is already sealed, that one is kept and the
        staged copy discarded (same name means same SHA-256 means same bytes).
        """
        relative = self.relative_for(staged.sha256, staged.suffix)
        final = self.root / relative
        try:
            os.chmod(staged.tmp_path, _READ_ONLY)
            final.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(staged.tmp_path, final)
            except FileExistsError:
                existing, _ = sha256_file(final)
                if existing != staged.sha256:
                    raise EvidenceError(
                        f"{final} exists with different content (SHA-256 {existing}): "
                        "the evidence store was altered; run `hotline verify`"
                    ) from None
            _fsync_dir(final.parent)
        except OSError as exc:
            raise EvidenceError(f"cannot seal {staged.tmp_path.name}: {exc}") from exc
        finally:
            self.discard(staged)
        return relative

    def free_bytes(self) -> int:
        try:
            st = os.statvfs(self.root if self.root.exists() else self.root.parent)
        except OSError:
            return 0
        return st.f_bavail * st.f_frsize


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
