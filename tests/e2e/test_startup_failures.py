"""What a user sees when the service cannot start on its settings: one line on stderr
naming the setting, exit 2, no traceback; ``hotline doctor`` says the same as a FAIL
line. Real processes, real ports on 127.0.0.1, real directories."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.e2e.conftest import free_port, hotline


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.strip().splitlines() if " INFO " not in line]
    assert len(lines) == 1, stderr
    return lines[0]


def test_serve_on_a_taken_web_port_says_so_in_one_line(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{port}"
        run = hotline(["serve"], cli_env, timeout=60)
    assert run.returncode == 2, run.stderr
    assert one_line(run.stderr) == (
        f"hotline: error: HOTLINE_HTTP: cannot listen on 127.0.0.1:{port} "
        "(Address already in use); choose another address"
    )
    # Nothing was made before the port was found taken.
    assert not (tmp_path / "hotline-data").exists()


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, socket.SOCK_STREAM])
def test_serve_on_a_taken_sip_port_says_so_in_one_line(
    cli_env: dict[str, str], kind: socket.SocketKind
) -> None:
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{free_port()}"
        cli_env["HOTLINE_SIP"] = f"127.0.0.1:{port}"
        cli_env["HOTLINE_LOG_LEVEL"] = "ERROR"
        run = hotline(["serve"], cli_env, timeout=120)
    assert run.returncode == 2, run.stderr
    assert one_line(run.stderr) == (
        f"hotline: error: HOTLINE_SIP: cannot listen on 127.0.0.1:{port} "
        "(Address already in use); choose another address, or set HOTLINE_SIP=off"
    )


@pytest.mark.parametrize("command", ["serve", "worker", "cases"])
def test_an_unreachable_database_is_one_line(cli_env: dict[str, str], command: str) -> None:
    cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{free_port()}"
    cli_env["HOTLINE_DATABASE_URL"] = f"postgresql+asyncpg://hotline@127.0.0.1:{free_port()}/x"
    run = hotline([command], cli_env, timeout=60)
    assert run.returncode == 2, run.stderr
    line = one_line(run.stderr)
    assert line.startswith(
        "hotline: error: HOTLINE_DATABASE_URL (postgresql+asyncpg://***@127.0.0.1:"
    ), line
    assert "cannot reach the database" in line


def _unusable(tmp_path: Path, how: str) -> tuple[Path, str]:
    """A data directory that cannot be used, and what the system says about it."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    if how == "a file":
        return a_file, f"{a_file}: is a file, not a directory"
    if how == "parent is a file":
        return a_file / "data", f"{a_file / 'data'}: Not a directory"
    # Not writable, even for root: sysfs refuses new entries.
    return Path("/sys/hotline-data"), "/sys/hotline-data: Operation not permitted"


@pytest.mark.parametrize(
    ("command", "how"),
    [
        ("serve", "a file"),
        ("serve", "not writable"),
        ("worker", "parent is a file"),
        ("cases", "not writable"),
        ("users list", "a file"),
        ("verify", "parent is a file"),
    ],
)
def test_an_unusable_data_directory_is_one_line_naming_the_setting(
    cli_env: dict[str, str], tmp_path: Path, how: str, command: str
) -> None:
    data, reason = _unusable(tmp_path, how)
    cli_env["HOTLINE_DATA_DIR"] = str(data)
    cli_env["HOTLINE_HTTP"] = f"127.0.0.1:{free_port()}"
    run = hotline(command.split(), cli_env, timeout=60)
    assert run.returncode == 2, run.stderr
    line = one_line(run.stderr)
    assert line.startswith(f"hotline: error: HOTLINE_DATA_DIR: {reason}"), line


@pytest.mark.parametrize("how", ["a file", "parent is a file", "not writable"])
def test_doctor_reports_an_unusable_data_directory_as_a_failed_check(
    cli_env: dict[str, str], tmp_path: Path, how: str
) -> None:
    data, reason = _unusable(tmp_path, how)
    cli_env["HOTLINE_DATA_DIR"] = str(data)
    run = hotline(["doctor"], cli_env, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("FAIL  data directory   HOTLINE_DATA_DIR: "), run.stdout
    assert reason in first


def test_doctor_reports_a_data_directory_it_cannot_write(cli_env: dict[str, str]) -> None:
    cli_env["HOTLINE_DATA_DIR"] = "/sys"  # exists; nothing can be created in it
    run = hotline(["doctor"], cli_env, timeout=180)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout.splitlines()[0] == (
        "FAIL  data directory   HOTLINE_DATA_DIR: /sys: cannot write there (Permission "
        "denied); choose a directory this user can write"
    ), run.stdout
