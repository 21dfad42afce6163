"""``EvidenceStore``: the one door to sealed recordings, whatever keeps them.

A recording enters by *copy* (the PBX's file is never moved or touched) into a
temporary name in the local staging directory, is fsynced while its SHA-256 is
computed, and is then handed to the backend under its content-addressed key
``sha256/ab/abcd….wav``: hard-linked and made read-only (``LocalBackend``), or uploaded
with its checksum into a bucket under Object Lock (``S3Backend``). Nothing here
overwrites or deletes a sealed object.

Everything that reads evidence (downloads with HTTP Range, transcription, verify,
copies, archives) goes through this class: ``stream`` (async chunks, any byte range),
``reader`` (a blocking stream, for code that runs on a thread), ``local_file`` (a path,
for a program that needs one: the sealed file itself, or a checked temporary copy).
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import AbstractContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.errors import EvidenceError
from hotline.evidence.backend import (
    Backend,
    BackendCheck,
    ObjectRef,
    ObjectState,
    Progress,
    Readable,
    StoredVersion,
)
from hotline.evidence.hashing import CHUNK, sha256_file
from hotline.evidence.local import LocalBackend

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from hotline.config import Settings
    from hotline.evidence.pending import Orphan, PendingSeals
    from hotline.store.tables import Recording

__all__ = ["EvidenceStore", "ObjectRef", "Sealed", "Staged", "add_years", "sha256_file"]

log = logging.getLogger(__name__)

KEY_PREFIX = "sha256/"
STREAM_CHUNK = 256 * 1024


@dataclass(frozen=True, slots=True)
class Staged:
    """A copy inside the store, hashed and synced, not yet sealed."""

    tmp_path: Path
    sha256: str
    size: int
    suffix: str


@dataclass(frozen=True, slots=True)
class Sealed:
    """A staged copy, now evidence."""

    ref: ObjectRef
    sha256: str
    size: int
    sealed_at: datetime
    retain_until: datetime | None
    """Until when the storage refuses to delete it (``None``: the local directory)."""
    reused: bool
    """These bytes were already sealed under this key (another recording's, or an
    upload whose commit failed); the object was reused, not written again."""

    @property
    def key(self) -> str:
        return self.ref.key

    def audit_details(self) -> dict[str, object]:
        """What the ``recording.sealed`` event adds about the stored object."""
        details: dict[str, object] = {}
        if self.ref.version is not None:
            details["version"] = self.ref.version
        if self.retain_until is not None:
            details["retain_until"] = self.retain_until.isoformat()
        if self.reused:
            details["object"] = "reused"
        return details


def add_years(at: datetime, years: int) -> datetime:
    """``at`` plus whole calendar years (29 February becomes 28 February)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


class EvidenceStore:
    """Sealed recordings. ``root`` is the local directory: the evidence itself with the
    local backend, the staging area only with S3."""

    def __init__(
        self,
        root: Path,
        backend: Backend | None = None,
        *,
        retention_years: int = 30,
        pending: PendingSeals | None = None,
    ) -> None:
        self.root = root
        self.backend: Backend = backend or LocalBackend(root)
        self.retention_years = retention_years
        self.pending = pending
        self._incoming = root / ".incoming"

    @classmethod
    def from_settings(
        cls, settings: Settings, pending: PendingSeals | None = None
    ) -> EvidenceStore:
        backend: Backend | None = None
        if settings.evidence_url:
            from hotline.evidence.s3 import S3Backend, S3Location, S3Options

            region = settings.s3_region or os.environ.get("AWS_REGION") or None
            backend = S3Backend(
                S3Location.parse(settings.evidence_url),
                S3Options(
                    endpoint_url=settings.s3_endpoint_url,
                    region=region or os.environ.get("AWS_DEFAULT_REGION"),
                    access_key_id=settings.s3_access_key_id,
                    secret_access_key=settings.s3_secret_access_key,
                    allow_unlocked=settings.evidence_allow_unlocked,
                    max_connections=max(32, settings.evidence_verify_concurrency * 2),
                ),
            )
        return cls(
            settings.evidence_dir,
            backend,
            retention_years=settings.longest_retention_years,
            pending=pending,
        )

    # --- lifecycle --------------------------------------------------------------------

    def prepare(self) -> None:
        """Create the local staging directory."""
        try:
            self._incoming.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot create the evidence store at {self.root}: {exc}") from exc

    async def open(self) -> None:
        """Prepare the staging directory and the backend; refuse unsafe storage."""
        self.prepare()
        await asyncio.to_thread(self.backend.open)

    async def check(self) -> list[BackendCheck]:
        """What ``hotline doctor`` prints about the evidence store."""
        self.prepare()
        probe = self._incoming / f"doctor-{uuid.uuid4().hex}"
        try:
            probe.write_bytes(b"probe")
            probe.unlink()
        except OSError as exc:
            return [BackendCheck(False, f"cannot write in {self._incoming}: {exc}")]
        return await asyncio.to_thread(self.backend.check)

    def describe(self) -> str:
        return self.backend.describe()

    def path_of(self, relative: str) -> Path:
        """The sealed file on this machine (the local backend only; elsewhere use
        ``reader``, ``stream`` or ``local_file``, which work with every backend)."""
        path = self.backend.local_path(ObjectRef(relative))
        if path is None:
            raise EvidenceError(
                f"{relative} is kept in {self.describe()}, not in a local file: "
                "read it through the evidence store"
            )
        return path

    @staticmethod
    def ref(rec: Recording) -> ObjectRef:
        """Where a recording's sealed bytes are."""
        return ObjectRef(rec.stored_path, rec.object_version)

    @staticmethod
    def relative_for(sha256: str, suffix: str) -> str:
        return f"{KEY_PREFIX}{sha256[:2]}/{sha256}{suffix}"

    # --- writing ----------------------------------------------------------------------

    def stage(self, source: Path) -> Staged:
        """Copy ``source`` into the store under a temporary name, hashing and syncing it."""
        self.prepare()
        suffix = source.suffix.lower() if source.suffix.lower() in {".wav", ".gsm"} else ".wav"
        tmp = self._incoming / f"{uuid.uuid4().hex}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with source.open("rb", buffering=0) as src, tmp.open("xb", buffering=0) as dst:
                buf = bytearray(CHUNK)
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

    async def seal(self, staged: Staged, progress: Progress | None = None) -> Sealed:
        """Hand the staged copy to the backend under its content-addressed key.

        The same bytes already sealed under that key are reused, never written again
        (on S3 a second write would be a second version, which ``verify`` reports as
        tampering). The staged copy is gone afterwards, sealed or not.
        """
        key = self.relative_for(staged.sha256, staged.suffix)
        now = datetime.now(UTC)
        retain_until = add_years(now, self.retention_years)
        try:
            seal_id = None
            if self.pending is not None:
                seal_id = await self.pending.begin(key, staged.sha256, staged.size)
            try:
                placed = await asyncio.to_thread(
                    self.backend.put,
                    key,
                    staged.tmp_path,
                    staged.sha256,
                    staged.size,
                    retain_until,
                    progress,
                )
            except BaseException:
                if seal_id is not None and self.pending is not None:
                    await self.pending.abandon(seal_id)
                raise
        finally:
            self.discard(staged)
        return Sealed(
            placed.ref, staged.sha256, staged.size, now, placed.retain_until, placed.reused
        )

    async def settle(self, s: AsyncSession, sealed: Sealed) -> None:
        """Call in the transaction that records the recording of ``sealed``: the seal is
        no longer in flight (see ``hotline.evidence.pending``)."""
        if self.pending is not None:
            await self.pending.settle(s, sealed.key)

    async def reconcile(self) -> list[Orphan]:
        """Seals that a stopped process left unfinished: objects stored without a
        recording are returned (once) for the caller to report."""
        if self.pending is None:
            return []
        return await self.pending.reconcile(self.backend)

    async def legal_hold(self, ref: ObjectRef, on: bool) -> bool:
        """Set (``on``) or clear a legal hold on a sealed object, for a case preserved
        long-term: while it is on, the storage refuses to delete the object even after
        its retention ends. Returns ``False`` where the backend has no holds (the local
        directory), so the caller can say the hold is kept in the database only."""
        return await asyncio.to_thread(self.backend.legal_hold, ref, on)

    async def legal_hold_state(self, ref: ObjectRef) -> bool | None:
        """Whether ``ref`` is under a legal hold now; ``None`` where the backend has no
        holds, or the object is missing."""
        return await asyncio.to_thread(self.backend.legal_hold_state, ref)

    async def has_holds(self) -> bool:
        """Whether the backend takes legal holds (S3 under Object Lock)."""
        return await asyncio.to_thread(lambda: self.backend.holds)

    # --- reading ----------------------------------------------------------------------

    def reader(
        self, ref: ObjectRef, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[Readable]:
        """A blocking stream of ``ref``'s bytes (``end`` exclusive), for code running on
        a thread (copy bundles, disc images)."""
        return self.backend.reader(ref, start, end)

    async def stream(
        self,
        ref: ObjectRef,
        start: int = 0,
        end: int | None = None,
        chunk: int = STREAM_CHUNK,
    ) -> AsyncGenerator[bytes, None]:
        """``ref``'s bytes ``start`` … ``end`` (exclusive) in chunks; each read runs on
        a thread. ``EvidenceError`` (before the first chunk) if it is missing."""
        context = self.backend.reader(ref, start, end)
        stream = await asyncio.to_thread(context.__enter__)
        try:
            while data := await asyncio.to_thread(stream.read, chunk):
                yield data
        finally:
            await asyncio.to_thread(context.__exit__, None, None, None)

    @asynccontextmanager
    async def local_file(self, ref: ObjectRef, sha256: str) -> AsyncIterator[Path]:
        """A path to the sealed bytes for a program that needs a file (the speech
        model): the sealed file itself where it is local, else a temporary copy whose
        SHA-256 is checked against the seal before it is used, removed afterwards."""
        path = self.backend.local_path(ref)
        if path is not None:
            yield path
            return
        self.prepare()
        tmp = self._incoming / f"read-{uuid.uuid4().hex}{Path(ref.key).suffix}"
        try:
            digest = await asyncio.to_thread(self._download, ref, tmp)
            if digest != sha256:
                raise EvidenceError(
                    f"sealed recording {ref} reads back with SHA-256 {digest}, sealed as "
                    f"{sha256}: run `hotline verify`"
                )
            yield tmp
        finally:
            tmp.unlink(missing_ok=True)

    def _download(self, ref: ObjectRef, target: Path) -> str:
        digest = hashlib.sha256()
        with self.backend.reader(ref) as src, target.open("xb") as dst:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                dst.write(chunk)
        return digest.hexdigest()

    async def exists(self, ref: ObjectRef) -> bool:
        return await asyncio.to_thread(self.backend.exists, ref)

    def inspect(self, ref: ObjectRef, progress: Progress | None = None) -> ObjectState:
        """Re-read and hash one object (blocking: ``verify`` runs it on its pool)."""
        return self.backend.inspect(ref, progress)

    def versions(self) -> Iterator[StoredVersion]:
        """Every sealed object and version (blocking)."""
        return self.backend.versions(KEY_PREFIX)

    def free_bytes(self) -> int:
        """Free space where recordings are staged (and kept, with the local backend)."""
        try:
            st = os.statvfs(self.root if self.root.exists() else self.root.parent)
        except OSError:
            return 0
        return st.f_bavail * st.f_frsize
