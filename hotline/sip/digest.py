"""HTTP Digest authentication for SIP clients (RFC 3261 §22, RFC 2617, RFC 7616, RFC 8760):
MD5 and SHA-256, with or without ``-sess``, ``qop=auth`` or none."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from hotline.errors import SIPProtocolError
from hotline.sip.address import split_list

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    opaque: str | None = None
    qop: tuple[str, ...] = ()
    stale: bool = False

    @classmethod
    def parse(cls, header: str) -> Challenge:
        scheme, _, rest = header.strip().partition(" ")
        if scheme.lower() != "digest":
            raise SIPProtocolError(f"unsupported authentication scheme {scheme[:20]!r}")
        params: dict[str, str] = {}
        for item in split_list(rest):
            name, _, value = item.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        if "nonce" not in params:
            raise SIPProtocolError("Digest challenge without a nonce")
        algorithm = params.get("algorithm", "MD5").upper()
        if algorithm.removesuffix("-SESS") not in _HASHES:
            raise SIPProtocolError(f"unsupported digest algorithm {algorithm[:20]!r}")
        qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
        if qop and "auth" not in qop:
            raise SIPProtocolError(f"unsupported qop {params['qop'][:20]!r} (only auth)")
        return cls(
            realm=params.get("realm", ""),
            nonce=params["nonce"],
            algorithm=algorithm,
            opaque=params.get("opaque"),
            qop=qop,
            stale=params.get("stale", "").lower() == "true",
        )


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm.removesuffix("-SESS")], text.encode()).hexdigest()


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` (or ``Proxy-Authorization``) value answering ``challenge``."""
    alg = challenge.algorithm
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = _h(alg, f"{username}:{challenge.realm}:{password}")
    if alg.endswith("-SESS"):
        ha1 = _h(alg, f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _h(alg, f"{method}:{uri}")
    fields = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
    ]
    if challenge.qop:
        count = f"{nc:08x}"
        response = _h(alg, f"{ha1}:{challenge.nonce}:{count}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={count}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{_h(alg, f"{ha1}:{challenge.nonce}:{ha2}")}"')
    fields.append(f"algorithm={alg}")
    if challenge.opaque is not None:
        fields.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(fields)
