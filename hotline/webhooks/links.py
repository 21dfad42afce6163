"""Signed, expiring links to a recording, for the case system.

A link names the recording by its SHA-256 and the case it was sent for (the same bytes
may be sealed for several calls; a download is audited on the case whose event carried
the link), and carries an expiry time and an HMAC of all three under a key the service
makes once and keeps in the database (so every process of a deployment signs and checks
with the same key). Changing the hash, the case, the expiry or the signature makes the
link worthless; every download through one is audited.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from hotline.store.db import Database
from hotline.store.delivery import ServerSecret

KEY_NAME = "recording-links"


class LinkRefused(Exception):
    """The link was altered (``reason='signature'``) or has expired (``'expired'``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkSigner:
    key: bytes

    def _mac(self, sha256: str, expires: int, case: str) -> str:
        signed = f"{sha256}.{expires}" + (f".{case}" if case else "")
        digest = hmac.new(self.key, signed.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(
        self,
        base_url: str,
        sha256: str,
        ttl_seconds: int,
        now: float | None = None,
        *,
        case: int | None = None,
    ) -> tuple[str, int]:
        expires = int((now if now is not None else time.time()) + ttl_seconds)
        which = "" if case is None else str(case)
        sig = self._mac(sha256, expires, which)
        query = f"expires={expires}" + (f"&case={which}" if which else "") + f"&sig={sig}"
        return f"{base_url}/api/recordings/{sha256}/download?{query}", expires

    def check(
        self, sha256: str, expires: str, sig: str, now: float | None = None, *, case: str = ""
    ) -> None:
        """``case`` as the link carries it (links made before it existed carry none)."""
        try:
            when = int(expires)
        except ValueError:
            raise LinkRefused("signature") from None
        if not hmac.compare_digest(self._mac(sha256, when, case), sig):
            raise LinkRefused("signature")
        if when < (now if now is not None else time.time()):
            raise LinkRefused("expired")


async def load_signer(db: Database) -> LinkSigner:
    """The deployment's link key, made on first use."""
    async with db.session() as s:
        row = await s.get(ServerSecret, KEY_NAME)
        if row is not None:
            return LinkSigner(base64.b64decode(row.value))
    try:
        async with db.session() as s:
            s.add(
                ServerSecret(
                    name=KEY_NAME, value=base64.b64encode(secrets.token_bytes(32)).decode()
                )
            )
    except IntegrityError:
        pass  # another process made it first
    async with db.session() as s:
        row = await s.get(ServerSecret, KEY_NAME)
        assert row is not None
        return LinkSigner(base64.b64decode(row.value))
