"""The S3 evidence backend: one bucket under Object Lock, one version per sealed object.

Each recording is uploaded once under its content-addressed key with its SHA-256 sent
as ``x-amz-checksum-sha256`` (the server refuses bytes that do not match; a multipart
upload sends one per part and keeps the whole file's hash in ``x-amz-meta-sha256``), in
``COMPLIANCE`` mode with a retain-until date: until then nobody, the service's own
credentials and the bucket's root account included, can delete that version or shorten
its retention. The version id is recorded with the recording; an overwrite of the key
would only add a version, which ``hotline verify`` reports.

boto3 is synchronous; ``EvidenceStore`` calls every method here on a thread. One client
is shared by all threads (botocore clients are thread-safe).

AWS S3, MinIO, Ceph RGW and SeaweedFS speak this; path-style addressing is used, so an
on-premise endpoint needs no wildcard DNS.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
from hotline.evidence.hashing import sha256_stream
from hotline.evidence.s3_client import (
    S3Location,
    S3Options,
    error_code,
    make_client,
    object_sha256,
    sha256_b64,
)

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

__all__ = ["COMPLIANCE", "S3Backend", "S3Location", "S3Options", "make_client"]

log = logging.getLogger(__name__)

COMPLIANCE = "COMPLIANCE"
_NO_LOCK = {"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"}
_NO_HOLD = {"NoSuchObjectLegalHold", *_NO_LOCK}
"""What the store answers for an object that never had a legal hold."""
_MISSING = {"NoSuchKey", "NoSuchVersion", "404", "NotFound", "InvalidArgument"}


class S3Backend:
    name = "s3"
    keeps_versions = True

    def __init__(
        self, location: S3Location, options: S3Options, client: S3Client | None = None
    ) -> None:
        self.location = location
        self.options = options
        self._client = client
        self._locked: bool | None = None
        self._key_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def client(self) -> S3Client:
        if self._client is None:
            self._client = make_client(self.options)
        return self._client

    def describe(self) -> str:
        return str(self.location)

    def _full(self, key: str) -> str:
        return self.location.prefix + key

    def _missing(self, ref: ObjectRef) -> EvidenceError:
        return EvidenceError(f"sealed recording {ref} is missing from {self.location}")

    def _error(self, what: str, exc: Exception) -> EvidenceError:
        code = error_code(exc) or type(exc).__name__
        return EvidenceError(f"{what} in {self.location}: {code}: {exc}")

    # --- the bucket -------------------------------------------------------------------

    def _bucket_state(self) -> tuple[str, str]:
        """(versioning status, Object Lock status) of the bucket."""
        from botocore.exceptions import BotoCoreError, ClientError

        bucket = self.location.bucket
        try:
            self.client.head_bucket(Bucket=bucket)
            versioning = self.client.get_bucket_versioning(Bucket=bucket).get("Status", "")
        except (BotoCoreError, ClientError) as exc:
            raise self._error("cannot reach the evidence bucket", exc) from exc
        try:
            conf = self.client.get_object_lock_configuration(Bucket=bucket)
            lock = conf.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled", "")
        except ClientError as exc:
            if error_code(exc) not in {
                "ObjectLockConfigurationNotFoundError",
                "NoSuchObjectLockConfiguration",
            }:
                raise self._error(
                    "cannot read the bucket's Object Lock configuration", exc
                ) from exc
            lock = ""
        except BotoCoreError as exc:
            raise self._error("cannot read the bucket's Object Lock configuration", exc) from exc
        return str(versioning or "not enabled"), str(lock or "not configured")

    def open(self) -> None:
        versioning, lock = self._bucket_state()
        self._locked = versioning == "Enabled" and lock == "Enabled"
        if self._locked:
            return
        if not self.options.allow_unlocked:
            raise EvidenceError(
                f"the evidence bucket {self.location.bucket} has versioning {versioning} and "
                f"Object Lock {lock}: hotline could delete evidence from it, so it will not "
                "start. Create the bucket with Object Lock enabled, or set "
                "HOTLINE_EVIDENCE_ALLOW_UNLOCKED=true to run on it anyway"
            )
        log.warning(
            "evidence bucket %s has versioning %s and Object Lock %s: recordings in it "
            "can be deleted (HOTLINE_EVIDENCE_ALLOW_UNLOCKED)",
            self.location.bucket,
            versioning,
            lock,
        )

    def check(self) -> list[BackendCheck]:
        try:
            versioning, lock = self._bucket_state()
        except EvidenceError as exc:
            return [BackendCheck(False, str(exc))]
        safe = versioning == "Enabled" and lock == "Enabled"
        allowed = (
            " (allowed by HOTLINE_EVIDENCE_ALLOW_UNLOCKED)" if self.options.allow_unlocked else ""
        )
        return [
            BackendCheck(True, f"{self.location} reachable"),
            BackendCheck(versioning == "Enabled", f"bucket versioning {versioning}"),
            BackendCheck(
                safe,
                f"Object Lock {lock}; recordings sealed in {COMPLIANCE} mode"
                if safe
                else f"Object Lock {lock}: evidence could be deleted{allowed}",
            ),
        ]

    # --- sealing ----------------------------------------------------------------------

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._key_locks.setdefault(key, threading.Lock())

    def find(self, key: str, sha256: str) -> tuple[ObjectRef, datetime | None] | None:
        """A stored version of ``key`` holding exactly ``sha256``'s bytes."""
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._full(key)
        try:
            head = self.client.head_object(
                Bucket=self.location.bucket, Key=full, ChecksumMode="ENABLED"
            )
        except ClientError as exc:
            if error_code(exc) not in _MISSING:
                raise self._error(f"cannot look up {key}", exc) from exc
            head = None
        except BotoCoreError as exc:
            raise self._error(f"cannot look up {key}", exc) from exc
        if head is not None and object_sha256(dict(head)) == sha256:
            return ObjectRef(key, head.get("VersionId")), head.get("ObjectLockRetainUntilDate")
        # The newest version is not ours (or is a delete marker): look at the others.
        for version in self.versions(key):
            if version.key != key or version.delete_marker or version.version is None:
                continue
            try:
                head = self.client.head_object(
                    Bucket=self.location.bucket,
                    Key=full,
                    VersionId=version.version,
                    ChecksumMode="ENABLED",
                )
            except (BotoCoreError, ClientError):
                continue
            if object_sha256(dict(head)) == sha256:
                return ObjectRef(key, version.version), head.get("ObjectLockRetainUntilDate")
        return None

    def put(
        self,
        key: str,
        source: Path,
        sha256: str,
        size: int,
        retain_until: datetime,
        progress: Progress | None = None,
    ) -> Placed:
        from botocore.exceptions import BotoCoreError, ClientError

        if self._locked is None:
            self.open()
        with self._lock_for(key):
            found = self.find(key, sha256)
            if found is not None:
                if progress is not None:
                    progress(size)
                return Placed(found[0], found[1], reused=True)
            lock: dict[str, Any] = {}
            if self._locked:
                lock = {"ObjectLockMode": COMPLIANCE, "ObjectLockRetainUntilDate": retain_until}
            try:
                if size <= self.options.multipart_threshold:
                    version = self._put_single(key, source, sha256, size, lock)
                    if progress is not None:
                        progress(size)
                else:
                    version = self._put_multipart(key, source, sha256, lock, progress)
            except ClientError as exc:
                if error_code(exc) in {"BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"}:
                    raise EvidenceError(
                        f"the object store received other bytes than {source.name} "
                        f"(SHA-256 {sha256}) and refused them; nothing was sealed"
                    ) from exc
                raise self._error(f"cannot upload {key}", exc) from exc
            except (BotoCoreError, OSError) as exc:
                raise self._error(f"cannot upload {key}", exc) from exc
        return Placed(ObjectRef(key, version), retain_until if self._locked else None, reused=False)

    def _put_single(
        self, key: str, source: Path, sha256: str, size: int, lock: dict[str, Any]
    ) -> str | None:
        with source.open("rb") as body:
            response = self.client.put_object(
                Bucket=self.location.bucket,
                Key=self._full(key),
                Body=body,
                ContentLength=size,
                ChecksumSHA256=sha256_b64(sha256),
                ContentType="audio/wav",
                Metadata={"sha256": sha256},
                **lock,
            )
        return response.get("VersionId")

    def _put_multipart(
        self,
        key: str,
        source: Path,
        sha256: str,
        lock: dict[str, Any],
        progress: Progress | None,
    ) -> str | None:
        import hashlib

        bucket, full = self.location.bucket, self._full(key)
        upload = self.client.create_multipart_upload(
            Bucket=bucket,
            Key=full,
            ChecksumAlgorithm="SHA256",
            ContentType="audio/wav",
            Metadata={"sha256": sha256},
            **lock,
        )
        upload_id = upload["UploadId"]
        parts: list[dict[str, Any]] = []
        try:
            with source.open("rb") as fh:
                number = 1
                while chunk := fh.read(self.options.part_size):
                    checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                    part = self.client.upload_part(
                        Bucket=bucket,
                        Key=full,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                        ChecksumSHA256=checksum,
                    )
                    parts.append(
                        {"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": checksum}
                    )
                    if progress is not None:
                        progress(len(chunk))
                    number += 1
            done = self.client.complete_multipart_upload(
                Bucket=bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},  # type: ignore[typeddict-item]
            )
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=bucket, Key=full, UploadId=upload_id)
            except Exception:  # the upload expires by the bucket's rules anyway
                log.warning("could not abort the unfinished upload of %s", key)
            raise
        return done.get("VersionId")

    @property
    def holds(self) -> bool:
        """A bucket under Object Lock takes legal holds; one without (allowed by
        ``HOTLINE_EVIDENCE_ALLOW_UNLOCKED``) refuses them."""
        if self._locked is None:
            self.open()
        return bool(self._locked)

    def _version_args(self, ref: ObjectRef) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.location.bucket, "Key": self._full(ref.key)}
        if ref.version is not None:
            args["VersionId"] = ref.version
        return args

    def legal_hold(self, ref: ObjectRef, on: bool) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.holds:
            return False
        try:
            self.client.put_object_legal_hold(
                **self._version_args(ref), LegalHold={"Status": "ON" if on else "OFF"}
            )
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise self._missing(ref) from exc
            raise self._error(f"cannot set the legal hold of {ref}", exc) from exc
        except BotoCoreError as exc:
            raise self._error(f"cannot set the legal hold of {ref}", exc) from exc
        return True

    def legal_hold_state(self, ref: ObjectRef) -> bool | None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.holds:
            return None
        try:
            got = self.client.get_object_legal_hold(**self._version_args(ref))
        except ClientError as exc:
            code = error_code(exc)
            if code in _MISSING:
                return None
            # An object that never had a hold: S3 says so with an error, not "OFF".
            if code in _NO_HOLD:
                return False
            raise self._error(f"cannot read the legal hold of {ref}", exc) from exc
        except BotoCoreError as exc:
            raise self._error(f"cannot read the legal hold of {ref}", exc) from exc
        return got.get("LegalHold", {}).get("Status") == "ON"

    # --- reading ----------------------------------------------------------------------

    def _get(self, ref: ObjectRef, byte_range: str | None = None) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        args: dict[str, Any] = {"Bucket": self.location.bucket, "Key": self._full(ref.key)}
        if ref.version is not None:
            args["VersionId"] = ref.version
        if byte_range is not None:
            args["Range"] = byte_range
        try:
            return dict(self.client.get_object(**args))
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise EvidenceError(
                    f"sealed recording {ref} is missing from {self.location}"
                ) from exc
            raise self._error(f"cannot read {ref}", exc) from exc
        except BotoCoreError as exc:
            raise self._error(f"cannot read {ref}", exc) from exc

    def reader(
        self, ref: ObjectRef, start: int = 0, end: int | None = None
    ) -> AbstractContextManager[Readable]:
        return self._reader(ref, start, end)

    @contextmanager
    def _reader(self, ref: ObjectRef, start: int, end: int | None) -> Iterator[Readable]:
        wanted = None
        if start or end is not None:
            wanted = f"bytes={start}-{'' if end is None else end - 1}"
        if end is not None and end <= start:
            yield _Empty()
            return
        body = self._get(ref, wanted)["Body"]
        try:
            yield _Body(body, self, ref)
        finally:
            body.close()

    def local_path(self, ref: ObjectRef) -> Path | None:
        return None

    def exists(self, ref: ObjectRef) -> bool:
        from botocore.exceptions import ClientError

        args: dict[str, Any] = {"Bucket": self.location.bucket, "Key": self._full(ref.key)}
        if ref.version is not None:
            args["VersionId"] = ref.version
        try:
            self.client.head_object(**args)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise self._error(f"cannot look up {ref}", exc) from exc
        return True

    def inspect(self, ref: ObjectRef, progress: Progress | None = None) -> ObjectState:
        try:
            response = self._get(ref)
        except EvidenceError as exc:
            if "missing" in str(exc):
                return ObjectState(None, 0)
            raise
        body = response["Body"]
        try:
            digest, size = sha256_stream(_Body(body, self, ref), progress)
        finally:
            body.close()
        return ObjectState(
            digest,
            size,
            lock_mode=response.get("ObjectLockMode"),
            retain_until=response.get("ObjectLockRetainUntilDate"),
            legal_hold=response.get("ObjectLockLegalHoldStatus") == "ON",
        )

    def versions(self, prefix: str) -> Iterator[StoredVersion]:
        from botocore.exceptions import BotoCoreError, ClientError

        strip = len(self.location.prefix)
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.location.bucket, Prefix=self._full(prefix)
        )
        try:
            for page in pages:
                for v in page.get("Versions", []):
                    yield StoredVersion(v["Key"][strip:], v.get("VersionId"), v.get("Size", 0))
                for m in page.get("DeleteMarkers", []):
                    yield StoredVersion(m["Key"][strip:], m.get("VersionId"), 0, True)
        except (BotoCoreError, ClientError) as exc:
            raise self._error("cannot list the sealed objects", exc) from exc

    def free_bytes(self) -> int | None:
        return None


class _Body:
    """A botocore body as a plain stream, with its errors said as evidence errors."""

    def __init__(self, body: Any, backend: S3Backend, ref: ObjectRef) -> None:
        self._body = body
        self._backend = backend
        self._ref = ref

    def read(self, n: int = -1, /) -> bytes:
        from botocore.exceptions import BotoCoreError

        try:
            data: bytes = self._body.read(None if n < 0 else n)
        except (BotoCoreError, OSError) as exc:
            raise self._backend._error(f"reading {self._ref} failed", exc) from exc
        return data


class _Empty:
    def read(self, n: int = -1, /) -> bytes:
        return b""
