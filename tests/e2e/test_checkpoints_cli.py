"""``hotline audit checkpoint`` and ``hotline verify`` as an administrator runs them,
against a database someone rewrote behind hotline's back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from hotline.store.db import Database
from tests.conftest import hotline_command
from tests.e2e.conftest import hotline, query
from tests.support.chain_attacks import rewrite
from tests.support.tsa import TsaServer, make_authority
from tests.support.web_data import make_wav


async def test_verify_names_the_checkpoint_a_rewrite_broke(cli_env: dict[str, str]) -> None:
    data = Path(cli_env["HOTLINE_DATA_DIR"])
    first = make_wav(data.parent / "a.wav", seed=1)
    assert hotline(["ingest", str(first), "--caller", "1"], cli_env).returncode == 0
    made = hotline(["audit", "checkpoint"], cli_env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("checkpoint at event ")
    second = make_wav(data.parent / "b.wav", seed=2)
    assert hotline(["ingest", str(second), "--caller", "2"], cli_env).returncode == 0
    made = json.loads(hotline(["audit", "checkpoint", "--json"], cli_env).stdout)
    assert made["new"] is True and made["event_seq"] == made["seq"] + 1
    again = hotline(["audit", "checkpoint"], cli_env)
    assert "has not moved since the checkpoint at event" in again.stdout

    run = hotline(["verify"], cli_env)
    assert run.returncode == 0, run.stdout
    assert "checkpoints  2 signed checkpoints" in run.stdout
    assert "witness      not checked" in run.stdout

    # The first call's events are rewritten with every later hash recomputed.
    ((victim,),) = query(data, "SELECT min(seq) FROM audit_events WHERE action = 'case.opened'")
    db = Database(f"sqlite+aiosqlite:///{data / 'hotline.db'}")
    try:
        await rewrite(db, victim, actor="system:nobody")
    finally:
        await db.close()
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert "BROKEN" not in run.stdout
    flagged = [line for line in lines if line.startswith("CHECKPOINT")]
    assert flagged[0].startswith("CHECKPOINT checkpoint at event ")
    assert "no longer has the hash it signed" in flagged[0]
    assert lines[-1] == "FAILED: evidence does not match its seals (checkpoints)"
    report = json.loads(hotline(["verify", "--json"], cli_env).stdout)
    assert report["ok"] is False and report["broken_link"] is None
    names = {s["name"]: s for s in report["sections"]}
    assert list(names) == [
        "recordings",
        "chain",
        "checkpoints",
        "timestamps",
        "witness",
        "archives",
        "preservation",
        "transcripts",
    ]
    assert names["chain"]["ok"] and not names["checkpoints"]["ok"]
    assert report["failures"] == names["checkpoints"]["failures"]


def test_a_witness_file_that_is_not_one_is_refused(cli_env: dict[str, str]) -> None:
    bad = Path(cli_env["HOTLINE_DATA_DIR"]).parent / "w.jsonl"
    bad.write_text('{"type": "audit.checkpoint", "data": {"checkpoint": {"seq": 1}}}\n')
    run = hotline(["verify", "--witness", str(bad)], cli_env)
    assert run.returncode == 2
    assert run.stderr.strip() == (f"hotline: error: the witness file {bad}, line 1: no 'hash'"), (
        run.stderr
    )
    run = hotline(["verify", "--witness", str(bad.with_name("none.jsonl"))], cli_env)
    assert run.returncode == 2 and "cannot read the witness file" in run.stderr


async def test_doctor_says_whether_checkpoints_are_timestamped(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    signed_only = hotline(["doctor"], cli_env)
    assert "timestamps       none: checkpoints are signed only" in signed_only.stdout

    tsa = TsaServer(make_authority(tmp_path / "tsa"))
    await tsa.start()
    try:
        env = {**cli_env, "HOTLINE_TSA_URL": tsa.url}
        env["HOTLINE_TSA_CERT"] = str(tsa.authority.trust_pem)
        proc = await asyncio.create_subprocess_exec(
            hotline_command(), "doctor", env=env, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        await tsa.stop()
    line = next(x for x in out.decode().splitlines() if "timestamps" in x)
    assert line.startswith("ok") and f"{tsa.url} answers" in line, line
    assert "token from CN=Hotline Test TSA" in line and tsa.requests == 1

    missing = hotline(["doctor"], {**cli_env, "HOTLINE_TSA_URL": tsa.url})
    assert missing.returncode == 2
    assert missing.stderr.startswith("hotline: error: HOTLINE_TSA_CERT: HOTLINE_TSA_URL is set")
