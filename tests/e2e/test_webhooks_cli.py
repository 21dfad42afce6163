"""Webhooks with the installed command: a worker killed mid-delivery, and the CLI."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
from pathlib import Path

from tests.conftest import hotline_command
from tests.e2e.conftest import query
from tests.support import speech
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.receiver import Receiver


async def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        hotline_command(),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_kill_9_during_delivery_loses_nothing(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    from hotline.webhooks.endpoints import new_secret

    secret = new_secret()
    receiver = Receiver(secret)
    await receiver.start()
    receiver.mode = "hang"
    cli_env.update(
        {
            "HOTLINE_WEBHOOK_URL": receiver.url,
            "HOTLINE_WEBHOOK_SECRET": secret,
            "HOTLINE_FORWARD": "auto",
            "HOTLINE_WEBHOOK_TIMEOUT_SECONDS": "1.5",
            "HOTLINE_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3",
            "HOTLINE_JOB_LEASE_SECONDS": "2",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
            "HOTLINE_WHISPER_MODEL": "bundled-tiny.en",
            "HOTLINE_LANGUAGE": "en",
        }
    )
    for i in range(3):
        wav = speech.tone(tmp_path / f"{i}.wav", seconds=2 + i, kind="noise")
        code, _, err = await _run(cli_env, "ingest", str(wav), "--caller", str(i))
        assert code == 0, err
    first = await asyncio.create_subprocess_exec(
        hotline_command(), "worker", env=cli_env, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        await receiver.wait_for(lambda r: len(r.attempts) >= 1, within=60)
        first.send_signal(signal.SIGKILL)  # a request is hanging in flight right now
        await first.wait()
    finally:
        if first.returncode is None:
            first.kill()
    receiver.mode = "ok"
    second = await asyncio.create_subprocess_exec(
        hotline_command(), "worker", env=cli_env, stderr=asyncio.subprocess.DEVNULL
    )
    data = Path(cli_env["HOTLINE_DATA_DIR"])
    try:
        for _ in range(600):
            rows = query(data, "SELECT status FROM deliveries")
            transcribed = query(data, "SELECT count(*) FROM transcripts")[0][0]
            if transcribed == 3 and rows and all(r == ("delivered",) for r in rows):
                break
            await asyncio.sleep(0.1)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
        await receiver.stop()
    events = {msg for (msg,) in query(data, "SELECT msg_id FROM webhook_events")}
    assert len(events) == 6  # created + transcribed for each of 3 cases
    assert {a.msg_id for a in receiver.accepted} == events  # every event, at least once
    assert all(a.verified for a in receiver.attempts)
    assert query(data, "SELECT DISTINCT status FROM deliveries") == [("delivered",)]


async def test_webhook_and_forward_commands(cli_env: dict[str, str], tmp_path: Path) -> None:
    receiver = Receiver("whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==")
    await receiver.start()
    try:
        code, out, err = await _run(
            cli_env, "webhooks", "add", receiver.url, "--secret", receiver.secret
        )
        assert code == 0, err
        assert out.startswith("endpoint 1: ")
        code, out, _ = await _run(cli_env, "webhooks", "test", "1")
        assert code == 0 and "HTTP 200" in out
        assert (
            receiver.attempts[-1].verified and receiver.attempts[-1].event["type"] == "webhook.test"
        )  # type: ignore[index]
        code, _, err = await _run(
            cli_env, "webhooks", "add", "ftp://nowhere", "--events", "case.created"
        )
        assert code == 2 and "not an http(s) URL" in err
        code, _, err = await _run(
            cli_env, "webhooks", "add", "http://x/y", "--events", "case.deleted"
        )
        assert code == 2 and "unknown event type 'case.deleted'" in err

        src = tmp_path / "c.wav"
        shutil.copyfile(MIXMONITOR_SAMPLE, src)
        code, out, _ = await _run(cli_env, "ingest", str(src), "--caller", "1", "--json")
        number = json.loads(out)[0]["case"]["number"]
        code, out, _ = await _run(cli_env, "case", "forward", number)
        assert code == 0 and "forwarded" in out
        code, out, _ = await _run(cli_env, "case", "forward", number)
        assert code == 0 and "already forwarded" in out
        code, out, _ = await _run(cli_env, "webhooks", "deliveries", "--json")
        (delivery,) = json.loads(out)
        assert delivery["event"] == "case.created" and delivery["status"] == "pending"
        code, out, _ = await _run(cli_env, "webhooks", "list")
        assert "enabled" in out and "pending 1" in out
        code, out, _ = await _run(cli_env, "webhooks", "disable", "1")
        assert code == 0 and "disabled" in out
        code, _, err = await _run(cli_env, "webhooks", "replay")
        assert code == 2 and "--all-dead" in err
        code, _, err = await _run(cli_env, "webhooks", "disable", "9")
        assert code == 2 and "no webhook endpoint 9" in err
    finally:
        await receiver.stop()


async def test_webhooks_test_to_nobody_says_no_answer(cli_env: dict[str, str]) -> None:
    """A refused connection and a receiver that never answers are "no answer", exit 1,
    with what the client saw, and no traceback."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        silent_port = silent.sockets[0].getsockname()[1]
        cli_env["HOTLINE_WEBHOOK_TIMEOUT_SECONDS"] = "1"
        try:
            for n, url in enumerate(
                (f"http://127.0.0.1:{port}/hook", f"http://127.0.0.1:{silent_port}/hook"), 1
            ):
                code, _, err = await _run(cli_env, "webhooks", "add", url)
                assert code == 0, err
                code, out, err = await _run(cli_env, "webhooks", "test", str(n))
                assert code == 1, (out, err)
                assert out.startswith(f"{url}: no answer ("), out
                assert "Traceback" not in err, err
        finally:
            silent.close()
