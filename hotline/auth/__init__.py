"""Who may do what: user accounts with one role each, Argon2id password hashes, browser
sessions (idle and absolute timeouts), API bearer tokens, login rate limiting.

Every change to an account or token, every sign-in and every refused sign-in is an
audit event in the transaction that makes it.

May import: ``hotline.store``, ``hotline.evidence``, ``hotline.config``, ``hotline.errors``.
"""

from __future__ import annotations

from hotline.auth.roles import ROLE_PERMISSIONS, Permission, Principal, Role

__all__ = ["ROLE_PERMISSIONS", "Permission", "Principal", "Role"]
