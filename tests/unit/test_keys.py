"""The installation's signing key: made once, kept outside the database, checkable with
stock tools (openssl, sha256sum) by someone who holds only the public key."""

from __future__ import annotations

import hashlib
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hotline.errors import EvidenceError
from hotline.evidence.keys import InstallationKey, PublicKey


def test_made_once_private_and_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    key = InstallationKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = InstallationKey.load_or_create(path)
    assert again.fingerprint == key.fingerprint
    sig = again.sign(b"chain head 42")
    assert len(sig) == 64
    assert key.public.verify(sig, b"chain head 42")
    assert not key.public.verify(sig, b"chain head 43")


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    with ThreadPoolExecutor(8) as pool:
        prints = set(pool.map(lambda _: InstallationKey.load_or_create(path).fingerprint, range(8)))
    assert len(prints) == 1
    assert [p.name for p in path.parent.iterdir()] == ["k.pem"]


def test_signature_and_fingerprint_check_with_openssl(tmp_path: Path) -> None:
    key = InstallationKey.load_or_create(tmp_path / "k.pem")
    pub = tmp_path / "public-key.pem"
    pub.write_bytes(key.public.pem())
    data = tmp_path / "manifest.json"
    data.write_bytes(b'{"copy": "HL-2026-000001-C01"}')
    sig = tmp_path / "manifest.sig"
    sig.write_bytes(key.sign(data.read_bytes()))
    verify = [
        "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pub),
        "-rawin", "-in", str(data), "-sigfile", str(sig),
    ]  # fmt: skip
    assert subprocess.run(verify, capture_output=True).returncode == 0
    data.write_bytes(b'{"copy": "HL-2026-000001-C02"}')
    assert subprocess.run(verify, capture_output=True).returncode != 0
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", str(pub), "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    assert hashlib.sha256(der).hexdigest() == key.fingerprint
    assert PublicKey.from_pem(pub.read_bytes()).fingerprint == key.fingerprint


def test_a_file_that_is_no_key_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    path.write_text("not a key")
    with pytest.raises(EvidenceError, match=r"k\.pem"):
        InstallationKey.load_or_create(path)
    with pytest.raises(EvidenceError, match="does not exist"):
        InstallationKey.load(tmp_path / "missing.pem")
