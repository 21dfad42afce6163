"""The installation's signing key: one Ed25519 key pair, kept as a file outside the
database, created at first start.

What it signs (the manifests of copies and disc archives, the audit chain's
checkpoints) must stay checkable by someone who can write the database but does not
hold this file; so the key never enters the database, and its public half is meant to
be published (on paper, in the main case system) by its fingerprint:

    openssl pkey -pubin -in public-key.pem -outform DER | sha256sum

which is the SHA-256 of the DER ``SubjectPublicKeyInfo``, as ``fingerprint`` gives it.
Several nodes of one installation share the file (``HOTLINE_SIGNING_KEY``).

May import: ``hotline.errors``.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from hotline.errors import EvidenceError

KEY_FILE = "installation-ed25519.pem"


@dataclass(frozen=True, slots=True)
class PublicKey:
    """The public half: what a recipient of a signed file checks it against."""

    key: Ed25519PublicKey

    @classmethod
    def from_pem(cls, data: bytes) -> PublicKey:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError as exc:
            raise EvidenceError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise EvidenceError("the public key is not an Ed25519 key")
        return cls(key)

    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def der(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER public key, lower-case hex (what ``sha256sum`` prints)."""
        return hashlib.sha256(self.der()).hexdigest()

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` (64 raw bytes) signs ``data``."""
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


class InstallationKey:
    """The private key, loaded from (or created at) ``path``."""

    def __init__(self, path: Path, private: Ed25519PrivateKey) -> None:
        self.path = path
        self._private = private
        self.public = PublicKey(private.public_key())

    @classmethod
    def load(cls, path: Path) -> InstallationKey:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise EvidenceError(
                f"the installation's signing key {path} does not exist "
                "(it is created at the first start of `hotline serve`)"
            ) from None
        except OSError as exc:
            raise EvidenceError(f"cannot read the signing key {path}: {exc}") from None
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise EvidenceError(f"{path} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise EvidenceError(f"{path} is not an Ed25519 key")
        return cls(path, key)

    @classmethod
    def load_or_create(cls, path: Path) -> InstallationKey:
        """Load the key, making it first if there is none. Two processes starting at
        once end up with the same key: the file is published with ``os.link``, which
        never replaces a name another process made first."""
        if path.exists():
            return cls.load(path)
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.part"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, path)
                except FileExistsError:
                    return cls.load(path)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise EvidenceError(f"cannot create the signing key {path}: {exc}") from None
        return cls(path, private)

    def sign(self, data: bytes) -> bytes:
        """The raw 64-byte Ed25519 signature of ``data``."""
        return self._private.sign(data)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint
