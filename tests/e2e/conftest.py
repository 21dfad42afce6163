from __future__ import annotations

import socket
import sqlite3
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import hotline_command
from tests.support import speech

REPORT_TEXT = (
    "Hello, I want to report false statistics. The Golden River cement factory "
    "reported fake production numbers to the statistics bureau last month."
)
REPORT_WORDS = ("report", "statistics", "golden", "river", "factory", "production")


def hotline(
    args: Sequence[str], env: dict[str, str], *, timeout: float = 180, check: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [hotline_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def query(data_dir: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "hotline.db", timeout=30) as conn:
        return conn.execute(sql, params).fetchall()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def english_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A spoken English report as a PBX records it: 8 kHz mono 16-bit PCM."""
    out = tmp_path_factory.mktemp("speech") / "report.wav"
    return speech.phone_speech(REPORT_TEXT, out)
