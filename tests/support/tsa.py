"""A real RFC 3161 timestamp authority on 127.0.0.1: Debian's ``openssl ts -reply``
behind a small HTTP handler, with a CA and a TSA certificate made on the spot."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_CONFIG = """\
[ tsa ]
default_tsa = hotline_test
[ hotline_test ]
serial = {dir}/serial
crypto_device = builtin
signer_cert = {dir}/tsa.pem
signer_key = {dir}/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.2
other_policies = 1.3.6.1.4.1.57264.3
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""
# No ``certs =`` line: openssl writes extra certificates in a SET OF that is not in DER
# order, which rfc3161-client's strict parser refuses; the signer's own is enough.


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=not sign_certs,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class Authority:
    directory: Path
    name: str

    @property
    def trust_pem(self) -> Path:
        """What ``HOTLINE_TSA_CERT`` names: the TSA's certificate, then its CA's."""
        return self.directory / "trust.pem"

    @property
    def config(self) -> Path:
        return self.directory / "tsa.cnf"


def make_authority(directory: Path, name: str = "Hotline Test TSA") -> Authority:
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} Root CA"))
        .issuer_name(_name(f"{name} Root CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(sign_certs=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca.subject)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign_certs=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "tsa.pem").write_bytes(tsa.public_bytes(pem))
    (directory / "trust.pem").write_bytes(tsa.public_bytes(pem) + ca.public_bytes(pem))
    (directory / "tsa.key").write_bytes(
        tsa_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (directory / "serial").write_text("01\n")
    (directory / "tsa.cnf").write_text(_CONFIG.format(dir=directory))
    return Authority(directory, name)


class TsaServer:
    """Answers timestamp queries over HTTP with ``openssl ts -reply``. ``stop()`` then
    ``start()`` on the same port makes it "down" in between."""

    def __init__(self, authority: Authority) -> None:
        self.authority = authority
        self.port = 0
        self.requests = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsa"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/tsa", self._reply)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _reply(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if request.content_type != "application/timestamp-query":
            return web.Response(status=415, text="send application/timestamp-query")
        query = self.authority.directory / f"q-{uuid.uuid4().hex}.tsq"
        reply = query.with_suffix(".tsr")
        query.write_bytes(await request.read())
        proc = await asyncio.create_subprocess_exec(
            "openssl", "ts", "-reply", "-config", str(self.authority.config),
            "-queryfile", str(query), "-out", str(reply),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), timeout=20)
        if proc.returncode != 0:
            return web.Response(status=500, text=err.decode(errors="replace"))
        return web.Response(body=reply.read_bytes(), content_type="application/timestamp-reply")
