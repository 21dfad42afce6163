"""Checkpoints, pure: the signed statement (checkable with openssl), its JSON form read
back strictly, and witness files as a case system keeps them."""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.evidence.checkpoints import (
    ACTION,
    Checkpoint,
    CheckpointError,
    read_witness,
    sign,
)
from hotline.evidence.keys import InstallationKey

HEAD = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
AT = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def key(tmp_path: Path) -> InstallationKey:
    return InstallationKey.load_or_create(tmp_path / "k.pem")


def test_the_statement_is_signed_and_reads_back(key: InstallationKey) -> None:
    cp = sign(key, 41, HEAD, AT)
    assert (
        cp.statement()
        == (
            "hotline audit checkpoint v1\nseq 41\n"
            f"hash {HEAD}\nat 2026-12-01T08:00:00.123456+00:00\nkey {key.fingerprint}\n"
        ).encode()
    )
    assert cp.signed_by(key.public)
    again = Checkpoint.from_details(json.loads(json.dumps(cp.details())))
    assert again == cp and again.signed_by(key.public)

    other = InstallationKey.load_or_create(key.path.parent / "other.pem")
    assert not cp.signed_by(other.public)
    moved = Checkpoint.from_details({**cp.details(), "seq": 42})
    assert not moved.signed_by(key.public)
    rehashed = Checkpoint.from_details({**cp.details(), "hash": "0" * 64})
    assert not rehashed.signed_by(key.public)


def test_openssl_checks_a_checkpoint_with_the_public_key_alone(
    key: InstallationKey, tmp_path: Path
) -> None:
    cp = sign(key, 7, HEAD, AT)
    (tmp_path / "pub.pem").write_bytes(key.public.pem())
    (tmp_path / "statement.txt").write_bytes(cp.statement())
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(cp.details()["signature"]))

    def openssl_verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
             "-in", "statement.txt", "-sigfile", "sig.bin"],
            cwd=tmp_path, capture_output=True, text=True, check=False,
        )  # fmt: skip

    ok = openssl_verify()
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    (tmp_path / "statement.txt").write_bytes(cp.statement().replace(b"seq 7", b"seq 8"))
    assert openssl_verify().returncode != 0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"hash": "xyz"}, "hash"),
        ({"key": HEAD.upper()}, "key"),
        ({"at": "yesterday"}, "at"),
        ({"at": "2026-12-01T08:00:00"}, "time zone"),
        ({"signature": "***"}, "base64"),
        ({"signature": base64.b64encode(b"short").decode()}, "64 bytes"),
    ],
)
def test_a_malformed_checkpoint_is_named(
    key: InstallationKey, change: dict[str, object], reason: str
) -> None:
    good = sign(key, 3, HEAD, AT).details()
    with pytest.raises(CheckpointError, match=reason):
        Checkpoint.from_details({**good, **change})
    with pytest.raises(CheckpointError, match="no 'signature'"):
        Checkpoint.from_details({k: v for k, v in good.items() if k != "signature"})


def test_witness_lines_as_the_case_system_kept_them(key: InstallationKey) -> None:
    first, second = sign(key, 10, HEAD, AT), sign(key, 20, "a" * 64, AT)
    lines = [
        json.dumps({"type": ACTION, "timestamp": "t", "data": {"checkpoint": first.details()}}),
        json.dumps({"type": "case.created", "data": {"case": {}}}),  # other events: skipped
        "",
        json.dumps(second.details()),  # the checkpoint object alone
    ]
    read = list(read_witness(lines))
    assert [(w.line, w.checkpoint) for w in read] == [(1, first), (4, second)]
    with pytest.raises(CheckpointError, match="line 2: not JSON"):
        list(read_witness([lines[0], "{not json"]))
    with pytest.raises(CheckpointError, match="line 1: no 'hash'"):
        list(read_witness([json.dumps({"type": ACTION, "data": {"checkpoint": {"seq": 1}}})]))
