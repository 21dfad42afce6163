"""The interface every evidence backend implements, and the facts it deals in.

A backend keeps sealed objects under content-addressed keys (``sha256/ab/ab….wav``)
and never overwrites or deletes one. Its methods block (files, HTTP): ``EvidenceStore``
calls them on threads, so the event loop never waits on storage.

Two implementations: ``LocalBackend`` (a directory, read-only bits; the embedded
default) and ``S3Backend`` (a bucket under Object Lock, one version per sealed object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

Progress = Callable[[int], None]
"""Called with the number of bytes just read or written."""


class Readable(Protocol):
    """A stream of an object's bytes (a file, an HTTP body)."""

    def read(self, n: int = -1, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One sealed object: its key and, where the backend keeps versions, its version."""

    key: str
    version: str | None = None

    def __str__(self) -> str:
        return self.key if self.version is None else f"{self.key} (version {self.version})"


@dataclass(frozen=True, slots=True)
class Placed:
    """What a backend did with a staged copy."""

    ref: ObjectRef
    retain_until: datetime | None
    """Until when the storage itself refuses to delete it (``None``: it cannot say)."""
    reused: bool
    """The same bytes were already stored under this key; nothing new was written."""


@dataclass(frozen=True, slots=True)
class ObjectState:
    """An object as re-read by ``verify``: its bytes' hash and its protection."""

    sha256: str | None
    """``None``: the object (or the version) is missing."""
    size: int
    lock_mode: str | None = None
    """``COMPLIANCE`` / ``GOVERNANCE`` on S3; ``None`` where there is no lock."""
    retain_until: datetime | None = None
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """One entry of a backend's listing (for ``verify``'s extra-version check)."""

    key: str
    version: str | None
    size: int
    delete_marker: bool = False


@dataclass(frozen=True, slots=True)
class BackendCheck:
    """What ``hotline doctor`` says about the backend."""

    ok: bool
    detail: str


class Backend(Protocol):
    """Where sealed recordings are kept. Implementations never overwrite or delete."""

    name: str
    """``local`` or ``s3``."""
    keeps_versions: bool
    """Each object has a version id, recorded with its recording (S3)."""

    def describe(self) -> str:
        """Where the evidence is, for people (no secrets)."""
        ...

    def open(self) -> None:
        """Get ready and refuse unsafe storage (``EvidenceError`` says why)."""
        ...

    def check(self) -> list[BackendCheck]:
        """The checks ``hotline doctor`` prints."""
        ...

    def put(
        self,
        key: str,
        source: Path,
        sha256: str,
        size: int,
        retain_until: datetime,
        progress: Progress | None = None,
    ) -> Placed:
        """Store ``source`` (a staged, synced copy) under ``key``, protected until
        ``retain_until`` where the storage can enforce it. An object already under
        ``key`` with the same bytes is reused, never written again."""
        ...

    def find(self, key: str, sha256: str) -> tuple[ObjectRef, datetime | None] | None:
        """The stored object (version) of ``key`` holding ``sha256``'s bytes, with its
        retain-until date; ``None`` if there is none."""
        ...

    def reader(
        self, ref: ObjectRef, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[Readable]:
        """A stream of the object's bytes ``start`` … ``end`` (exclusive; ``None``: to
        the end). ``EvidenceError`` if it is missing."""
        ...

    def local_path(self, ref: ObjectRef) -> Path | None:
        """The sealed file itself when it is on this machine's filesystem."""
        ...

    def exists(self, ref: ObjectRef) -> bool: ...

    def inspect(self, ref: ObjectRef, progress: Progress | None = None) -> ObjectState:
        """Re-read the whole object, hashing it, with its lock state."""
        ...

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        """Every stored object (and, on S3, every version and delete marker) under
        ``prefix``."""
        ...

    @property
    def holds(self) -> bool:
        """Legal holds can be set here (a bucket under Object Lock); ``False``: a
        preserved case is kept by its flag in the database alone."""
        ...

    def legal_hold(self, ref: ObjectRef, on: bool) -> bool:
        """Set or clear a legal hold; ``False`` where the storage has none to set."""
        ...

    def legal_hold_state(self, ref: ObjectRef) -> bool | None:
        """Whether ``ref`` is under a legal hold; ``None`` where the storage has no
        holds, or the object is missing."""
        ...

    def free_bytes(self) -> int | None:
        """Free space, where the backend has a limit it can tell (``None``: unknown)."""
        ...
