"""Trusted timestamps (RFC 3161) for checkpoints of the audit chain.

A signature says who signed, not when: someone holding the key could sign a rewritten
history and date it in the past. A timestamp authority (TSA) that the agency trusts
signs, at a time it vouches for, the message imprint of each checkpoint — the SHA-256
of the checkpoint's signed statement — so the checkpoint existed no later than then.

The request, the response and their checks are ``rfc3161-client``'s; this module says
what is asked for and what must hold: the token verifies against the TSA's certificate
(``HOTLINE_TSA_CERT``: its certificate and the CA certificates up to the root, PEM), and
its imprint is this checkpoint's. ``check_timestamps`` is ``hotline verify``'s section.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)
from sqlmodel import col, select

from hotline.errors import EvidenceError
from hotline.store.db import Database
from hotline.store.tables import AuditTimestamp

if TYPE_CHECKING:
    from hotline.evidence.chain_verify import ChainWalk
    from hotline.evidence.verify import Section

_SKEW = 300.0
"""Seconds the TSA's clock may be behind ours before the report mentions it."""
REQUEST_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"


class TimestampError(EvidenceError):
    """A timestamp response that is not a good token for the checkpoint asked about."""


@dataclass(frozen=True, slots=True)
class Trust:
    """Whom tokens must come from: the TSA's certificate and its chain."""

    tsa: x509.Certificate
    intermediates: tuple[x509.Certificate, ...]
    roots: tuple[x509.Certificate, ...]

    @classmethod
    def from_pem(cls, data: bytes, origin: str = "the TSA certificate") -> Trust:
        try:
            certs = x509.load_pem_x509_certificates(data)
        except ValueError as exc:
            raise EvidenceError(f"{origin} holds no PEM certificate: {exc}") from None
        leaves = [c for c in certs if _is_tsa(c)]
        if len(leaves) != 1:
            raise EvidenceError(
                f"{origin} must hold exactly one certificate for time stamping "
                f"(extended key usage timeStamping); found {len(leaves)}"
            )
        roots = tuple(c for c in certs if c.issuer == c.subject)
        if not roots:
            raise EvidenceError(
                f"{origin} must hold the TSA's certificate and the CA certificates up to "
                "the root (self-signed)"
            )
        middle = tuple(c for c in certs if c not in roots and c is not leaves[0])
        return cls(leaves[0], middle, roots)

    @classmethod
    def load(cls, path: Path) -> Trust:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise EvidenceError(f"cannot read the TSA certificate {path}: {exc.strerror}") from None
        return cls.from_pem(data, str(path))

    @property
    def name(self) -> str:
        return self.tsa.subject.rfc4514_string()


def _is_tsa(cert: x509.Certificate) -> bool:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.TIME_STAMPING in usage


def imprint(statement: bytes) -> bytes:
    """What the TSA signs for a checkpoint: the SHA-256 of its statement."""
    return hashlib.sha256(statement).digest()


@dataclass(frozen=True, slots=True)
class Request:
    body: bytes
    nonce: int | None


def request(statement: bytes) -> Request:
    """A timestamp query for a checkpoint's statement, asking for the TSA's certificate."""
    built = (
        TimestampRequestBuilder()
        .data(statement)
        .hash_algorithm(HashAlgorithm.SHA256)
        .cert_request(cert_request=True)
        .build()
    )
    return Request(built.as_bytes(), built.nonce)


@dataclass(frozen=True, slots=True)
class Token:
    """A verified timestamp: when the TSA saw the checkpoint, and its serial number."""

    response: bytes
    gen_time: datetime
    serial: int


def check(response: bytes, statement: bytes, trust: Trust, nonce: int | None = None) -> Token:
    """The token in ``response`` if it is a good timestamp of a checkpoint's
    ``statement`` from the trusted TSA; ``TimestampError`` saying what is wrong
    otherwise."""
    try:
        parsed = decode_timestamp_response(response)
    except ValueError as exc:
        raise TimestampError(f"not a timestamp response: {exc}") from None
    if parsed.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        said = "; ".join(parsed.status_string) or "no reason given"
        raise TimestampError(f"the TSA refused (status {parsed.status}: {said})")
    builder = VerifierBuilder(
        tsa_certificate=trust.tsa,
        intermediates=list(trust.intermediates),
        roots=list(trust.roots),
        nonce=nonce,
    )
    try:
        builder.build().verify(parsed, imprint(statement))
    except VerificationError as exc:
        if parsed.tst_info.message_imprint.message != imprint(statement):
            raise TimestampError("the token is for another message, not this checkpoint") from None
        raise TimestampError(f"the token does not verify against {trust.name}: {exc}") from None
    return Token(response, parsed.tst_info.gen_time, parsed.tst_info.serial_number)


async def check_timestamps(
    db: Database, section: Section, walk: ChainWalk, trust: Trust | None
) -> None:
    """Every stored token against the checkpoint it belongs to and the TSA's certificate;
    checkpoints that have no token yet are counted, not failed (the TSA may be down)."""
    async with db.session() as s:
        rows = list((await s.exec(select(AuditTimestamp).order_by(col(AuditTimestamp.id)))).all())
    by_event = {seen.event_seq: seen for seen in walk.checkpoints}
    section.checked = len(rows)
    if trust is None:
        if rows:
            section.skipped = f"{len(rows)} tokens, but no TSA certificate to check them with"
        else:
            section.skipped = "checkpoints are signed only (no timestamp authority set)"
        return
    stamped = set()
    for row in rows:
        seen = by_event.get(row.checkpoint_seq)
        where = f"timestamp {row.id} of the checkpoint at event {row.checkpoint_seq}"
        if seen is None or seen.checkpoint is None:
            section.failures.append(f"{where}: the chain has no such checkpoint")
            continue
        try:
            token = check(row.response, seen.checkpoint.statement(), trust)
        except TimestampError as exc:
            section.failures.append(f"{where}: {exc}")
            continue
        stamped.add(row.checkpoint_seq)
        if (seen.checkpoint.at - token.gen_time).total_seconds() > _SKEW:
            section.notes.append(
                f"{where}: the TSA's time {token.gen_time:%Y-%m-%d %H:%M:%SZ} is before the "
                "time the checkpoint states: this machine's clock was ahead"
            )
    waiting = [seq for seq in by_event if seq not in stamped]
    section.figures["checkpoints_without_token"] = len(waiting)
    if waiting:
        section.notes.append(
            f"{len(waiting)} checkpoints have no token yet (the oldest at event {min(waiting)})"
        )
