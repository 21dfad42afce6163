"""Signed checkpoints of the audit chain, pure: the statement a checkpoint signs, its
signature, its JSON form, and the checks against a chain and against copies kept
elsewhere (outside witnesses).

Whoever can write the database can recompute every hash of the chain; they cannot sign
without the installation's key, which is kept outside the database. A checkpoint signs
the head of the chain (an event's sequence number and hash) at a moment::

    hotline audit checkpoint v1
    seq 1234
    hash 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    at 2026-12-01T08:00:00.000000+00:00
    key <SHA-256 fingerprint of the signing key>

(UTF-8, each line ending in a newline), and is written into the chain as the very next
event (action ``audit.checkpoint``), so rewriting history before it breaks either that
event's content or its signature. It is also sent to the case system: a copy there
stays right even when someone holds the key and rewrites the database, checkpoints
and all.

The statement is checkable with stock tools::

    openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin \\
        -in statement.txt -sigfile signature.bin
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hotline.errors import EvidenceError
from hotline.evidence.keys import InstallationKey, PublicKey

ACTION = "audit.checkpoint"
"""The audit action of a checkpoint event."""
VERSION = "hotline audit checkpoint v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(EvidenceError):
    """A checkpoint (or a line of a witness file) that is not one."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that event ``seq`` of the chain had hash ``hash`` at ``at``."""

    seq: int
    hash: str
    at: datetime
    key: str
    """SHA-256 fingerprint of the public key that signed it."""
    signature: bytes
    """Raw 64-byte Ed25519 signature of ``statement()``."""

    def statement(self) -> bytes:
        return statement(self.seq, self.hash, self.at, self.key)

    def details(self) -> dict[str, Any]:
        """What the checkpoint's audit event keeps (and what the case system gets)."""
        return {
            "seq": self.seq,
            "hash": self.hash,
            "at": _iso(self.at),
            "key": self.key,
            "algorithm": "Ed25519",
            "signature": base64.b64encode(self.signature).decode(),
        }

    def signed_by(self, public: PublicKey) -> bool:
        return self.key == public.fingerprint and public.verify(self.signature, self.statement())

    @classmethod
    def from_details(cls, data: Any) -> Checkpoint:
        """Read a checkpoint back from its JSON form; ``CheckpointError`` if it is none."""
        if not isinstance(data, dict):
            raise CheckpointError("not a JSON object")
        try:
            seq, digest, at, key = data["seq"], data["hash"], data["at"], data["key"]
            signature = base64.b64decode(data["signature"], validate=True)
        except KeyError as exc:
            raise CheckpointError(f"no {exc.args[0]!r}") from None
        except (binascii.Error, TypeError, ValueError):
            raise CheckpointError("the signature is not base64") from None
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise CheckpointError(f"seq is not a positive integer: {seq!r}")
        if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
            raise CheckpointError(f"hash is not a SHA-256 in hex: {digest!r}")
        if not isinstance(key, str) or not _HEX64.fullmatch(key):
            raise CheckpointError(f"key is not a SHA-256 fingerprint: {key!r}")
        if len(signature) != 64:
            raise CheckpointError("the signature is not 64 bytes")
        try:
            when = datetime.fromisoformat(str(at))
        except ValueError:
            raise CheckpointError(f"at is not an ISO 8601 time: {at!r}") from None
        if when.tzinfo is None:
            raise CheckpointError(f"at has no time zone: {at!r}")
        return cls(seq=seq, hash=digest, at=when.astimezone(UTC), key=key, signature=signature)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def statement(seq: int, digest: str, at: datetime, key: str) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    return f"{VERSION}\nseq {seq}\nhash {digest}\nat {_iso(at)}\nkey {key}\n".encode()


def sign(key: InstallationKey, seq: int, digest: str, at: datetime) -> Checkpoint:
    fingerprint = key.fingerprint
    # Round to what the JSON form keeps, so the statement reads back identically.
    at = datetime.fromisoformat(_iso(at))
    signature = key.sign(statement(seq, digest, at, fingerprint))
    return Checkpoint(seq=seq, hash=digest, at=at, key=fingerprint, signature=signature)


# --- outside witnesses -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WitnessLine:
    line: int
    checkpoint: Checkpoint


def read_witness(lines: Iterable[str]) -> Iterator[WitnessLine]:
    """Checkpoints kept elsewhere, one JSON object a line: the ``audit.checkpoint``
    webhook bodies as the case system received them (``{"type", "timestamp", "data":
    {"checkpoint": {…}}}``), or the checkpoint objects alone. Other event types are
    skipped (a receiver may log every event to one file); a line that is not JSON or
    not a checkpoint raises ``CheckpointError`` naming it."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            raise CheckpointError(f"line {number}: not JSON") from None
        if isinstance(data, dict) and "type" in data:
            if data.get("type") != ACTION:
                continue
            data = (data.get("data") or {}).get("checkpoint")
        try:
            yield WitnessLine(number, Checkpoint.from_details(data))
        except CheckpointError as exc:
            raise CheckpointError(f"line {number}: {exc}") from None
