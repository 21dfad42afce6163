"""``hotline users`` and ``hotline tokens`` as an administrator runs them, and the first
administrator that ``hotline serve`` makes on a fresh installation."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

from tests.conftest import hotline_command
from tests.e2e.conftest import free_port, hotline


def _call(
    url: str, *, body: Any = None, token: str | None = None, method: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_users_and_tokens_from_the_command_line(cli_env: dict[str, str]) -> None:
    added = hotline(
        ["users", "add", "alice", "--role", "handler", "--display-name", "李四"], cli_env
    )
    assert added.returncode == 0, added.stderr
    assert "added handler 'alice'" in added.stdout
    password = re.search(r"password: (\S+)", added.stdout)
    assert password and len(password.group(1)) >= 12
    chosen = subprocess.run(
        [hotline_command(), "users", "add", "bob", "--role", "operator", "--password-stdin"],
        input="a password of my own\n",
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chosen.returncode == 0 and "password:" not in chosen.stdout
    again = hotline(["users", "add", "alice", "--role", "admin"], cli_env)
    assert again.returncode == 2
    assert again.stderr.strip() == "hotline: error: user 'alice' exists already"
    bad = hotline(["users", "add", "Bad Name!", "--role", "admin"], cli_env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert hotline(["users", "add", "carol", "--role", "janitor"], cli_env).returncode == 2
    short = subprocess.run(
        [hotline_command(), "users", "add", "dave", "--role", "auditor", "--password-stdin"],
        input="short\n",
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert short.returncode == 2 and "at least 10 characters" in short.stderr

    assert hotline(["users", "disable", "bob"], cli_env).returncode == 0
    reset = hotline(["users", "reset-password", "alice"], cli_env)
    assert reset.returncode == 0 and "password:" in reset.stdout
    assert hotline(["users", "disable", "nobody"], cli_env).returncode == 2
    listed = json.loads(hotline(["users", "list", "--json"], cli_env).stdout)
    assert [(u["username"], u["role"], u["disabled"]) for u in listed] == [
        ("alice", "handler", False),
        ("bob", "operator", True),
    ]
    assert listed[0]["must_change_password"] is True

    made = hotline(["tokens", "create", "--role", "auditor", "--name", "prometheus"], cli_env)
    assert made.returncode == 0 and "hlt_" in made.stdout
    tokens = json.loads(hotline(["tokens", "list", "--json"], cli_env).stdout)
    assert [(t["name"], t["role"], t["revoked"]) for t in tokens] == [
        ("prometheus", "auditor", False)
    ]
    token = re.search(r"(hlt_\S+)", made.stdout)
    assert token and token.group(1) not in json.dumps(tokens)
    assert hotline(["tokens", "revoke", str(tokens[0]["id"])], cli_env).returncode == 0
    assert json.loads(hotline(["tokens", "list", "--json"], cli_env).stdout)[0]["revoked"]
    assert hotline(["tokens", "revoke", "999"], cli_env).returncode == 2
    forever = hotline(
        ["tokens", "create", "--role", "auditor", "--name", "x", "--expires-days", "99999999"],
        cli_env,
    )
    assert forever.returncode == 2 and forever.stderr.count("\n") == 1, forever.stderr
    assert "--expires-days must be 1 to 3660" in forever.stderr


def test_serve_makes_a_first_admin_and_says_how_to_sign_in(cli_env: dict[str, str]) -> None:
    port = free_port()
    cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [hotline_command(), "serve"], env=cli_env, stderr=subprocess.PIPE, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and "administrator" not in line:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "serve exited"
        found = re.search(r"administrator 'admin' with password (\S+)", line)
        assert found, line
        assert f"{base}/login" in line
        while time.monotonic() < deadline:  # the line comes before the port opens
            try:
                if _call(f"{base}/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, body = _call(
            f"{base}/api/session", body={"username": "admin", "password": found.group(1)}
        )
        assert status == 200 and body["user"]["must_change_password"] is True
        assert body["role"] == "admin"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            proc.kill()
    listed = json.loads(hotline(["users", "list", "--json"], cli_env).stdout)
    assert [u["username"] for u in listed] == ["admin"]
