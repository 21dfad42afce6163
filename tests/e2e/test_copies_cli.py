"""``hotline copies`` as a user runs it: each person's password on standard input, no
approval by the requester, nothing issued before approval (and the attempt audited),
the issued ZIP checked offline, a tampered one refused with the reason."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from tests.conftest import hotline_command
from tests.e2e.conftest import query
from tests.support.web_data import make_wav

SECRET = "a long passphrase"


def run(
    args: list[str], env: dict[str, str], password: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hotline_command(), *args],
        env=env,
        input=(password + "\n") if password is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_copies_from_the_command_line(cli_env: dict[str, str], tmp_path: Path) -> None:
    for name, role in (("hd", "handler"), ("boss", "head")):
        made = run(["users", "add", name, "--role", role, "--password-stdin"], cli_env, SECRET)
        assert made.returncode == 0, made.stderr
    wav = make_wav(tmp_path / "call.wav", seed=7)
    ingest = run(["ingest", str(wav), "--caller", "13800138000", "--json"], cli_env)
    assert ingest.returncode == 0, ingest.stderr
    number = json.loads(ingest.stdout)[0]["case"]["number"]

    request = [
        "copies", "request", number, "--user", "hd", "--party", "王小明",
        "--party-id", "resident_id:11010519491231002X", "--purpose", "申请行政复议",
        "--what", "recording,summary",
    ]  # fmt: skip
    bad = run([*request[:-2], "--what", "everything"], cli_env, SECRET)
    assert bad.returncode == 2 and "what" in bad.stderr
    made = run(request, cli_env, SECRET)
    assert made.returncode == 0, made.stderr
    rid = made.stdout.strip()
    assert rid.isdigit()

    early = run(["copies", "issue", rid, "--user", "hd", "--out", str(tmp_path)], cli_env, SECRET)
    assert early.returncode == 1 and "requested cannot be issued" in early.stderr
    assert "Traceback" not in early.stderr
    own = run(["copies", "approve", rid, "--user", "hd"], cli_env, SECRET)
    assert own.returncode == 1 and "may not approve" in own.stderr
    wrong = run(["copies", "approve", rid, "--user", "boss"], cli_env, "not the password")
    assert wrong.returncode == 1 and "wrong user name or password" in wrong.stderr
    denied = query(
        Path(cli_env["HOTLINE_DATA_DIR"]),
        "SELECT actor, json_extract(details, '$.step') FROM audit_events "
        "WHERE action = 'copy.denied' ORDER BY seq",
    )
    assert denied == [("user:hd", "issue"), ("user:hd", "approve")]

    ok = run(["copies", "approve", rid, "--user", "boss", "--comment", "同意"], cli_env, SECRET)
    assert ok.returncode == 0, ok.stderr
    listed = json.loads(run(["copies", "list", "--case", number, "--json"], cli_env).stdout)
    assert (
        listed[0]["status"] == "approved" and listed[0]["party_id_number"] == "110***********002X"
    )
    out = tmp_path / "out"
    issued = run(["copies", "issue", rid, "--user", "hd", "--out", str(out)], cli_env, SECRET)
    assert issued.returncode == 0, issued.stderr
    path = Path(issued.stdout.strip())
    assert path.parent == out and path.name == f"{number}-C01.zip"

    verified = run(["copies", "verify", str(path), "--json"], cli_env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "summary.txt":
                data = data.replace(b"draft", b"dRaft")
            dst.writestr(item.filename, data)
    failed = run(["copies", "verify", str(tampered)], cli_env)
    assert failed.returncode == 1 and "summary.txt: SHA-256" in failed.stdout
    assert run(["copies", "verify", str(tmp_path / "none.zip")], cli_env).returncode == 2
