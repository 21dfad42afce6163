"""What ``HOTLINE_TSA_CERT`` must hold: the TSA's certificate and its chain to a root."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.errors import EvidenceError
from hotline.evidence.timestamps import Trust
from tests.support.tsa import make_authority


def test_the_tsa_certificate_and_its_root(tmp_path: Path) -> None:
    authority = make_authority(tmp_path / "a")
    trust = Trust.load(authority.trust_pem)
    assert trust.name == "CN=Hotline Test TSA"
    assert [r.subject.rfc4514_string() for r in trust.roots] == ["CN=Hotline Test TSA Root CA"]
    assert trust.intermediates == ()

    with pytest.raises(EvidenceError, match="up to the root"):
        Trust.from_pem((authority.directory / "tsa.pem").read_bytes())
    with pytest.raises(EvidenceError, match="exactly one certificate for time stamping"):
        Trust.from_pem((authority.directory / "ca.pem").read_bytes())
    with pytest.raises(EvidenceError, match="no PEM certificate"):
        Trust.from_pem(b"not a certificate")
    with pytest.raises(EvidenceError, match="cannot read the TSA certificate"):
        Trust.load(tmp_path / "nowhere.pem")
