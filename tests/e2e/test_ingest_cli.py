"""The installed ``hotline`` command, as a user runs it, on a fresh data directory."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import hotline_command
from tests.e2e.conftest import REPORT_WORDS, hotline, query
from tests.support import speech
from tests.support.fixtures import MIXMONITOR_SAMPLE


def _data(env: dict[str, str]) -> Path:
    return Path(env["HOTLINE_DATA_DIR"])


def _sealed_files(env: dict[str, str]) -> list[Path]:
    root = _data(env) / "evidence"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_spoken_report_becomes_a_sealed_draft_case_with_a_transcript(
    cli_env: dict[str, str], english_report: Path
) -> None:
    cli_env["HOTLINE_LANGUAGE"] = "en"
    run = hotline(
        ["ingest", str(english_report), "--caller", "13800138000", "--wait", "--json"], cli_env
    )
    assert run.returncode == 0, run.stderr
    (entry,) = json.loads(run.stdout)
    case = entry["case"]
    assert entry["duplicate"] is False
    assert case["status"] == "draft" and case["number"].startswith("HL-")
    assert case["caller"] == {"number": "13800138000", "e164": "+8613800138000", "name": ""}
    assert case["recording"]["sha256"] == hashlib.sha256(english_report.read_bytes()).hexdigest()
    assert case["recording"]["content_type"] == "audio/wav"
    assert 5 < case["recording"]["duration"] < 15
    text = case["transcript"]["text"].lower()
    for word in REPORT_WORDS:
        assert word in text, (word, text)
    segments = case["transcript"]["segments"]
    assert segments and all(0 <= s["start"] < s["end"] <= 15 for s in segments)
    assert case["transcript"]["version"] == 1 and case["transcript"]["source"] == "machine"

    actions = [a for (a,) in query(_data(cli_env), "SELECT action FROM audit_events ORDER BY seq")]
    assert actions == [
        "call.imported",
        "recording.sealed",
        "case.opened",
        "transcription.queued",
        "transcript.created",
    ]

    shown = hotline(["case", "show", case["number"], "--json"], cli_env)
    assert json.loads(shown.stdout)["transcript"]["text"] == case["transcript"]["text"]
    listed = hotline(["cases"], cli_env)
    assert case["number"] in listed.stdout and "golden river" in listed.stdout.lower()

    verify = hotline(["verify"], cli_env)
    assert verify.returncode == 0, verify.stdout
    assert "1 recordings re-hashed" in verify.stdout and "ok: all evidence intact" in verify.stdout


def test_verify_names_a_changed_recording_and_a_broken_audit_link(
    cli_env: dict[str, str],
) -> None:
    src = Path(cli_env["HOTLINE_DATA_DIR"]).parent / "call.wav"
    shutil.copyfile(MIXMONITOR_SAMPLE, src)
    assert hotline(["ingest", str(src), "--caller", "1"], cli_env).returncode == 0
    (sealed,) = _sealed_files(cli_env)
    original = sealed.read_bytes()

    os.chmod(sealed, 0o644)  # someone with root on the server "fixes" a byte
    with sealed.open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1
    assert "CHANGED" in run.stdout and sealed.name in run.stdout
    report = json.loads(hotline(["verify", "--json"], cli_env).stdout)
    assert report["ok"] is False
    assert report["recordings"][0]["problem"] == "changed"
    assert report["broken_link"] is None

    sealed.write_bytes(original)
    assert hotline(["verify"], cli_env).returncode == 0

    query(_data(cli_env), "UPDATE audit_events SET actor = 'nobody' WHERE seq = 2")
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1
    assert "BROKEN   audit chain at event 2" in run.stdout
    report = json.loads(hotline(["verify", "--json"], cli_env).stdout)
    assert report["broken_link"]["seq"] == 2 and report["recordings"] == []

    sealed.unlink()
    report = json.loads(hotline(["verify", "--json"], cli_env).stdout)
    assert report["recordings"][0]["problem"] == "missing"


def test_verify_names_a_recording_whose_row_was_rewritten_or_deleted(
    cli_env: dict[str, str],
) -> None:
    src = Path(cli_env["HOTLINE_DATA_DIR"]).parent / "call.wav"
    shutil.copyfile(MIXMONITOR_SAMPLE, src)
    assert hotline(["ingest", str(src), "--caller", "1"], cli_env).returncode == 0
    query(_data(cli_env), "UPDATE recordings SET size = size + 1 WHERE id = 1")
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1, run.stdout
    assert "ALTERED  recording 1: sha256/" in run.stdout and "bytes, sealed as" in run.stdout
    query(_data(cli_env), "DELETE FROM recordings WHERE id = 1")
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1, run.stdout
    assert "DELETED  recording 1: sealed in event" in run.stdout
    assert "FAILED: evidence does not match its seals (recordings)" in run.stdout


def test_the_same_file_twice_is_one_recording(cli_env: dict[str, str], tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    shutil.copyfile(MIXMONITOR_SAMPLE, a)
    shutil.copyfile(MIXMONITOR_SAMPLE, b)
    first = json.loads(hotline(["ingest", str(a), "--caller", "1", "--json"], cli_env).stdout)
    again = hotline(["ingest", str(a), "--caller", "1"], cli_env)
    assert again.returncode == 0
    assert "already sealed" in again.stderr and first[0]["case"]["number"] in again.stderr
    second = json.loads(hotline(["ingest", str(a), "--caller", "1", "--json"], cli_env).stdout)
    assert second[0]["duplicate"] is True
    assert second[0]["case"]["id"] == first[0]["case"]["id"]
    assert query(_data(cli_env), "SELECT count(*) FROM recordings") == [(1,)]
    # Another file with the same bytes is another call's recording, stored once.
    other = json.loads(hotline(["ingest", str(b), "--caller", "2", "--json"], cli_env).stdout)
    assert other[0]["duplicate"] is False
    assert other[0]["case"]["id"] != first[0]["case"]["id"]
    assert other[0]["case"]["recording"]["sha256"] == first[0]["case"]["recording"]["sha256"]
    assert len(_sealed_files(cli_env)) == 1
    assert query(_data(cli_env), "SELECT count(*) FROM recordings") == [(2,)]


def _lying_header(path: Path) -> Path:
    data = bytearray(MIXMONITOR_SAMPLE.read_bytes())
    data[40:44] = struct.pack("<I", len(data) * 4)  # the data chunk claims 4x what is there
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.wav", "no such file"),
        (lambda d: (d / "e.wav", (d / "e.wav").write_bytes(b""))[0], "empty"),
        (lambda d: (d / "t.wav", (d / "t.wav").write_text("meeting notes\n" * 40))[0], "not a WAV"),
        (
            lambda d: (
                d / "c.wav",
                (d / "c.wav").write_bytes(MIXMONITOR_SAMPLE.read_bytes()[:9999]),
            )[0],
            "truncated",
        ),
        (lambda d: _lying_header(d / "l.wav"), "truncated"),
    ],
    ids=["missing", "empty", "text-named-wav", "truncated", "lying-header"],
)
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(
    cli_env: dict[str, str], tmp_path: Path, make: object, reason: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    run = hotline(["ingest", str(path), "--caller", "13800138000"], cli_env)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotline: error: ") and reason in lines[0]
    assert "Traceback" not in run.stderr
    assert _sealed_files(cli_env) == []
    for table in ("calls", "recordings", "cases", "jobs", "audit_events"):
        assert query(_data(cli_env), f"SELECT count(*) FROM {table}") == [(0,)]


def test_a_full_evidence_store_refuses_cleanly(cli_env: dict[str, str], tmp_path: Path) -> None:
    big = speech.tone(tmp_path / "long.wav", seconds=120, kind="noise")  # ~1.9 MB
    assert hotline(["db", "upgrade"], cli_env).returncode == 0
    limit = 1 << 20  # writes past 1 MiB fail as on a full disk (EFBIG)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [hotline_command(), "ingest", str(big), "--caller", "1"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap,
    )
    assert run.returncode == 1, run.stderr
    assert "full" in run.stderr and "ingest it again" in run.stderr
    assert "Traceback" not in run.stderr
    assert _sealed_files(cli_env) == []
    assert query(_data(cli_env), "SELECT count(*) FROM recordings") == [(0,)]
    # Room again: the same file goes in.
    assert hotline(["ingest", str(big), "--caller", "1"], cli_env).returncode == 0


def test_kill_9_of_a_worker_mid_transcription_is_recovered(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    words = (
        "The accounts of the Golden River cement factory were changed before the inspection. " * 6
    )
    wav = speech.phone_speech(words, tmp_path / "long.wav")
    cli_env.update(
        {
            "HOTLINE_LANGUAGE": "en",
            "HOTLINE_JOB_LEASE_SECONDS": "2",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        }
    )
    assert hotline(["ingest", str(wav), "--caller", "1"], cli_env).returncode == 0
    first = subprocess.Popen([hotline_command(), "worker"], env=cli_env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = query(_data(cli_env), "SELECT status, lease_owner FROM jobs")
            if rows[0][0] == "running":
                break
            time.sleep(0.05)
        assert rows[0][0] == "running"
        # Killed as soon as it holds the job: however fast the machine, it cannot have
        # loaded the model and decoded half a minute of speech within one poll.
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert query(_data(cli_env), "SELECT count(*) FROM transcripts") == [(0,)]
        assert query(_data(cli_env), "SELECT status FROM jobs") == [("running",)]
    finally:
        first.kill()
        first.wait()

    second = subprocess.Popen([hotline_command(), "worker"], env=cli_env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if query(_data(cli_env), "SELECT status FROM jobs") == [("done",)]:
                break
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0
        err = second.stderr.read().decode() if second.stderr else ""
    assert query(_data(cli_env), "SELECT status, attempts FROM jobs") == [("done", 2)]
    assert "reclaiming job" in err
    rows = query(_data(cli_env), "SELECT version, source, text FROM transcripts")
    assert len(rows) == 1 and rows[0][:2] == (1, "machine")
    assert "factory" in rows[0][2].lower()


def _work_until(env: dict[str, str], status: str) -> None:
    """Run ``hotline worker`` until the one job is in ``status``, then stop it."""
    worker = subprocess.Popen([hotline_command(), "worker"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # rows have no event to wait on
            if query(_data(env), "SELECT status FROM jobs") == [(status,)]:
                break
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert query(_data(env), "SELECT status FROM jobs") == [(status,)]


def test_a_failed_job_is_retried_with_hotline_jobs_retry(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    cli_env.update(
        {
            "HOTLINE_LANGUAGE": "en",
            "HOTLINE_JOB_MAX_ATTEMPTS": "1",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
            "HOTLINE_WHISPER_MODEL": str(tmp_path / "no-such-model"),
        }
    )
    assert hotline(["ingest", str(MIXMONITOR_SAMPLE), "--caller", "1"], cli_env).returncode == 0
    ((job_id,),) = query(_data(cli_env), "SELECT id FROM jobs")
    not_yet = hotline(["jobs", "retry", str(job_id)], cli_env)
    assert not_yet.returncode == 2
    assert not_yet.stderr.strip() == (
        f"hotline: error: job {job_id} is queued, not failed: nothing to retry"
    )
    _work_until(cli_env, "failed")
    assert hotline(["jobs", "retry", str(job_id + 1)], cli_env).stderr.strip() == (
        f"hotline: error: there is no job {job_id + 1}"
    )
    retried = hotline(["jobs", "retry", str(job_id)], cli_env)
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.splitlines()[-1] == "1 job queued again"
    assert "no-such-model" in retried.stdout  # the error it had failed with
    assert query(_data(cli_env), "SELECT status, attempts FROM jobs") == [("queued", 0)]
    # It fails again (the model is still missing); --failed takes every failed job.
    _work_until(cli_env, "failed")
    cli_env["HOTLINE_WHISPER_MODEL"] = "bundled-tiny.en"  # the operator fixed the setting
    again = hotline(["jobs", "retry", "--failed"], cli_env)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "1 job queued again"
    _work_until(cli_env, "done")
    (text,) = query(_data(cli_env), "SELECT text FROM transcripts")[0]
    assert "gas" in text.lower()
    nothing = hotline(["jobs", "retry", "--failed"], cli_env)
    assert nothing.returncode == 0 and nothing.stdout.strip() == "0 jobs queued again"
