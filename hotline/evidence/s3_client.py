"""S3 connection settings and helpers: the bucket and prefix of ``s3://BUCKET/PREFIX``,
the client's options, a boto3 client made from them, and what to read in its answers."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hotline.errors import ConfigError

if TYPE_CHECKING:
    from types_boto3_s3.client import S3Client

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str
    """Empty, or ending in ``/``."""

    @classmethod
    def parse(cls, url: str) -> S3Location:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ConfigError(f"expected s3://BUCKET/PREFIX, got {url!r}")
        prefix = parts.path.strip("/")
        return cls(parts.netloc, f"{prefix}/" if prefix else "")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True, slots=True)
class S3Options:
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    allow_unlocked: bool = False
    """Run on a bucket without Object Lock (tests, a lab): evidence could be deleted."""
    multipart_threshold: int = 64 * _MIB
    part_size: int = 16 * _MIB
    max_connections: int = 32


def make_client(options: S3Options) -> S3Client:
    """A boto3 S3 client: path-style, bounded retries and timeouts; credentials, region
    and endpoint from ``options`` or boto3's standard chain (``AWS_*`` variables)."""
    import boto3
    from botocore.config import Config

    config = Config(
        s3={"addressing_style": "path"},
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=options.max_connections,
        # We send the SHA-256 ourselves; no extra CRC on every request.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    client: S3Client = session.client(
        "s3",
        endpoint_url=options.endpoint_url,
        region_name=options.region or "us-east-1",
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        config=config,
    )
    return client


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def sha256_b64(sha256: str) -> str:
    return base64.b64encode(binascii.unhexlify(sha256)).decode()


def object_sha256(head: dict[str, Any]) -> str | None:
    """The whole object's SHA-256 as the server checked it (single part), else as we
    recorded it in the metadata (multipart)."""
    checksum = head.get("ChecksumSHA256")
    if isinstance(checksum, str) and "-" not in checksum:
        try:
            return base64.b64decode(checksum).hex()
        except (binascii.Error, ValueError):
            return None
    meta = head.get("Metadata") or {}
    value = meta.get("sha256")
    return value if isinstance(value, str) else None
