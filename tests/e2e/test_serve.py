"""``hotline serve`` as a user starts it: API up, worker in-process, graceful stop."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import hotline_command
from tests.e2e.conftest import free_port, hotline, query


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _start(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env["HOTLINE_HTTP"] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [hotline_command(), "serve"], env=env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"serve exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        try:
            if _get(f"{base}/api/health")[0] == 200:
                return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("serve did not come up")


def _stop(proc: subprocess.Popen[str], within: float) -> tuple[int, str, float]:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=within)
    finally:
        proc.kill()
    return code, proc.stderr.read() if proc.stderr else "", time.monotonic() - started


def test_serve_runs_the_pipeline_and_stops_gracefully(
    cli_env: dict[str, str], english_report: Path
) -> None:
    cli_env["HOTLINE_LANGUAGE"] = "en"
    made = hotline(["tokens", "create", "--role", "supervisor", "--name", "e2e", "--json"], cli_env)
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    proc, base = _start(cli_env)
    try:
        assert _get(f"{base}/api/health") == (200, {"status": "ok"})  # details need a token
        assert _get(f"{base}/api/cases")[0] == 401
        status, health = _get(f"{base}/api/health", token)
        assert status == 200 and health["status"] == "ok"
        assert health["database"]["ok"] and health["evidence"]["free_bytes"] > 0
        assert health["jobs"]["queued"] == 0
        assert _get(f"{base}/api/cases", token) == (200, {"cases": [], "next_before": None})

        ingest = hotline(
            ["ingest", str(english_report), "--caller", "13800138000", "--json"], cli_env
        )
        number = json.loads(ingest.stdout)[0]["case"]["number"]
        deadline = time.monotonic() + 120
        case: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status, case = _get(f"{base}/api/cases/{number}", token)
            if case.get("transcript"):
                break
            time.sleep(0.3)
        assert status == 200 and "golden river" in case["transcript"]["text"].lower()
        assert _get(f"{base}/api/cases/{case['id']}", token)[1]["number"] == number
        assert _get(f"{base}/api/cases/HL-1999-000001", token)[0] == 404
        listed = _get(f"{base}/api/cases?status=draft", token)[1]["cases"]
        assert [c["number"] for c in listed] == [number]
        assert _get(f"{base}/api/cases?limit=x", token)[0] == 400
    finally:
        code, err, took = _stop(proc, within=30)
    assert code == 0, err
    assert "stopped" in err and took < 15


def test_sigterm_hands_back_a_job_in_flight(cli_env: dict[str, str], tmp_path: Path) -> None:
    from tests.support import speech

    wav = speech.phone_speech(
        "Please record my report about the statistics office. " * 8, tmp_path / "l.wav"
    )
    cli_env.update({"HOTLINE_SHUTDOWN_GRACE_SECONDS": "0.5", "HOTLINE_LANGUAGE": "en"})
    assert hotline(["ingest", str(wav), "--caller", "1"], cli_env).returncode == 0
    proc, _ = _start(cli_env)
    data = Path(cli_env["HOTLINE_DATA_DIR"])
    deadline = time.monotonic() + 60
    while query(data, "SELECT status FROM jobs") != [("running",)] and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    code, err, took = _stop(proc, within=20)
    assert code == 0, err
    assert took < 10, "shutdown must not wait for the transcription to end"
    assert "handed back unfinished" in err
    assert query(data, "SELECT status, attempts, lease_owner FROM jobs") == [("queued", 0, None)]
    assert query(data, "SELECT count(*) FROM transcripts") == [(0,)]


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_refuses_an_unmigrated_postgres_database(
    cli_env: dict[str, str], command: str
) -> None:
    import asyncio

    from tests.conftest import fresh_pg_database

    async def scenario() -> None:
        async with fresh_pg_database() as url:
            cli_env["HOTLINE_DATABASE_URL"] = url
            cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{free_port()}"
            run = await asyncio.to_thread(hotline, [command], cli_env, timeout=60)
            assert run.returncode == 2
            (line,) = run.stderr.strip().splitlines()
            assert line.startswith("hotline: error: the database is empty, this hotline needs ")
            assert line.endswith("run `hotline db upgrade`")
            upgrade = await asyncio.to_thread(hotline, ["db", "upgrade"], cli_env)
            assert upgrade.returncode == 0 and "revision" in upgrade.stdout
            status = await asyncio.to_thread(hotline, ["db", "status"], cli_env)
            assert status.returncode == 0

    asyncio.run(scenario())


def test_a_bad_setting_stops_serve_with_one_line(cli_env: dict[str, str]) -> None:
    cli_env["HOTLINE_HTTP"] = "everywhere"
    run = hotline(["serve"], cli_env, timeout=30)
    assert run.returncode == 2
    assert (
        run.stderr.strip() == "hotline: error: HOTLINE_HTTP: expected HOST:PORT, got 'everywhere'"
    )
