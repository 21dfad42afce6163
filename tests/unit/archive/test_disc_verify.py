"""The verifier every disc carries, run as an archive office runs it: the system's
``python3`` (standard library only) on a directory holding a disc's files."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.archive import disc_verify
from hotline.archive.layout import DiscFile
from hotline.archive.manifest import (
    MANIFEST,
    VolumeFacts,
    manifest,
    memory_file,
    signed,
    tools,
)
from hotline.evidence.chain import GENESIS, canonical, link_hash
from hotline.evidence.keys import InstallationKey

SYSTEM_PYTHON = "/usr/bin/python3"


def _events() -> bytes:
    prev, lines = GENESIS, []
    for seq, action in enumerate(("case.opened", "case.preservation_marked"), start=1):
        fields = {
            "seq": seq,
            "at": datetime(2026, 12, 1, 8, seq, 0, 5, tzinfo=UTC),
            "actor": "user:李明",
            "action": action,
            "subject": "case:1",
            "case_id": 1,
            "details": {"note": "当事人信访", "n": [1, 2.5, None, True]},
        }
        body = canonical(**fields)
        digest = link_hash(prev, body)
        lines.append(
            json.dumps({**json.loads(body), "prev_hash": prev, "hash": digest}, ensure_ascii=False)
        )
        prev = digest
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def disc(tmp_path: Path) -> Path:
    key = InstallationKey.load_or_create(tmp_path / "key.pem")
    facts = VolumeFacts(
        archive_id="a1",
        label="HLA0001V01",
        archive_label="HLA0001",
        number=1,
        of=1,
        media="dvd",
        capacity=4_700_372_992,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        created_by="cli:test",
        selection={"preserved": True},
        chain_head={"seq": 3, "hash": "0" * 64},
        checkpoint=None,
    )
    files: list[DiscFile] = [
        memory_file("HL-2026-000001/录音/1-mix.wav", b"RIFF" + bytes(range(256)) * 40, "recording"),
        memory_file("HL-2026-000001/审计记录.jsonl", _events(), "audit"),
        memory_file("HL-2026-000001/案件.json", b'{"number": "HL-2026-000001"}', "case"),
        *tools(key.public, facts),
    ]
    body = manifest(facts, key.public, ["HL-2026-000001"], files)
    root = tmp_path / "disc"
    for f in [*files, memory_file(MANIFEST, body, "tool"), signed(body, key)]:
        target = root / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        assert f.data is not None
        target.write_bytes(f.data)
    return root


def _run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SYSTEM_PYTHON, str(root / "verify.py"), str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_good_disc_passes_with_its_signature(disc: Path) -> None:
    run = _run(disc)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "volume 1 of 1, 1 cases, 6 files" in run.stdout
    assert "signature: good" in run.stdout and run.stdout.endswith(
        "ok: every file matches the manifest\n"
    )
    fingerprint = disc_verify.key_fingerprint((disc / "public-key.pem").read_bytes())
    openssl = subprocess.run(
        f"openssl pkey -pubin -in {disc / 'public-key.pem'} -outform DER | sha256sum",
        shell=True, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert openssl.stdout.split()[0] == fingerprint and fingerprint in run.stdout


def test_a_changed_missing_or_extra_file_is_named(disc: Path) -> None:
    recording = disc / "HL-2026-000001/录音/1-mix.wav"
    data = bytearray(recording.read_bytes())
    data[100] ^= 1
    recording.write_bytes(bytes(data))
    (disc / "HL-2026-000001/案件.json").unlink()
    (disc / "HL-2026-000001/notes.txt").write_text("added later")
    run = _run(disc)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert any(line.startswith("CHANGED  HL-2026-000001/录音/1-mix.wav: SHA-256") for line in lines)
    assert "MISSING  HL-2026-000001/案件.json" in lines
    assert "EXTRA    HL-2026-000001/notes.txt: not in the manifest" in lines
    assert "FAILED: 3 problems" in lines


def test_an_altered_audit_event_is_caught_even_with_the_manifest_rehashed(disc: Path) -> None:
    audit = disc / "HL-2026-000001/审计记录.jsonl"
    text = audit.read_text().replace("当事人信访", "没有异议", 1)
    audit.write_text(text)
    # Whoever altered it fixed the manifest's hash too: the event's own hash and the
    # signature still tell.
    manifest_file = disc / MANIFEST
    body = json.loads(manifest_file.read_text())
    for entry in body["files"]:
        if entry["path"].endswith("审计记录.jsonl"):
            entry["sha256"] = hashlib.sha256(text.encode()).hexdigest()
            entry["size"] = len(text.encode())
    manifest_file.write_text(json.dumps(body, ensure_ascii=False))
    run = _run(disc)
    assert run.returncode == 1
    assert "ALTERED  HL-2026-000001/审计记录.jsonl line 1: event 1 does not match its hash" in (
        run.stdout
    )
    assert "BADSIG   MANIFEST.json.sig does not verify" in run.stdout


def test_without_openssl_the_files_are_still_checked(disc: Path, tmp_path: Path) -> None:
    bare = tmp_path / "bin"
    bare.mkdir()
    run = subprocess.run(
        [SYSTEM_PYTHON, str(disc / "verify.py"), str(disc)],
        capture_output=True, text=True, timeout=60, check=False, env={"PATH": str(bare)},
    )  # fmt: skip
    assert run.returncode == 0, run.stdout
    assert "signature: not checked (openssl not found); see VERIFY.txt" in run.stdout


def test_a_directory_without_an_archive_is_said_so(tmp_path: Path, disc: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = subprocess.run(
        [SYSTEM_PYTHON, str(disc / "verify.py"), str(empty)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 2 and "no MANIFEST.json here" in run.stderr
