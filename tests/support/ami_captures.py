"""Reading the captured AMI sessions (``tests/fixtures/ami``) and making WAV files the
way Asterisk's MixMonitor writes them. Shared by the unit tests, the AMI simulator and
``bench/ami.py``."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hotline.ami.message import Message
from hotline.ami.protocol import ActionResult, AMIConnection, Banner, NeedData
from tests.support.fixtures import AMI, MIXMONITOR_SAMPLE

SCENARIOS = (
    "answered-call",
    "abandoned-during-notice",
    "abandoned-while-ringing",
    "operator-noanswer-record",
    "answered-call-stopmixmonitor",
    "actions",
    "failed-login",
)
PROJECT_DIALPLAN = tuple(
    f"project-dialplan/{name}"
    for name in (
        "queue-answered",
        "queue-answered-operator-hangs-up",
        "queue-timeout-message",
        "hangup-during-notice",
        "hangup-during-notice-twice",
        "blind-transfer",
        "concurrent-five",
        "no-mixmonitor",
        "operator-unreachable",
    )
)
"""Series 2: the project's own dialplan on Asterisk 22, each scenario with the WAV files
Asterisk wrote (``<name>.files/``, described by its ``index.json``)."""
PBX_MONITOR = "/var/spool/asterisk/monitor"
USERNAME = "hotline"
SECRET = "hotline-secret"


@dataclass(frozen=True, slots=True)
class Entry:
    t: float
    dir: str
    data: bytes


@cache
def timeline(name: str) -> tuple[Entry, ...]:
    entries = []
    for line in (AMI / f"{name}.timeline.jsonl").read_text().splitlines():
        record = json.loads(line)
        entries.append(Entry(record["t"], record["dir"], record.get("data", "").encode()))
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class CapturedFile:
    """A recording Asterisk wrote in a series-2 scenario."""

    name: str
    path: Path
    announced_by: tuple[str, ...]
    sha256: str
    duration: float

    @property
    def by_lab_action(self) -> bool:
        """Written by the capture client's own ``MixMonitor`` action, not the dialplan."""
        return any(a.startswith("our MixMonitor action") for a in self.announced_by)


@cache
def captured_files(name: str) -> dict[str, CapturedFile]:
    """The recordings of a scenario by file name; empty for series 1 (no ``.files``)."""
    folder = AMI / f"{name}.files"
    index = folder / "index.json"
    if not index.exists():
        return {}
    files = json.loads(index.read_text())["files"]
    return {
        file: CapturedFile(
            file,
            folder / file,
            tuple(entry["announced_by"]),
            entry["sha256"],
            float(entry["duration_s"]),
        )
        for file, entry in files.items()
    }


def capture_bytes(name: str) -> bytes:
    return (AMI / f"{name}.ami.txt").read_bytes()


@cache
def client_actions(name: str) -> tuple[Message, ...]:
    frames = (AMI / f"{name}.client.txt").read_bytes().split(b"\r\n\r\n")
    return tuple(Message.parse(frame) for frame in frames if frame)


@cache
def rx_messages(name: str) -> tuple[tuple[float, Message], ...]:
    """Every message Asterisk sent, with the time of the read that completed it."""
    conn = AMIConnection()
    out: list[tuple[float, Message]] = []
    for entry in timeline(name):
        if entry.dir != "rx":
            continue
        conn.receive_data(entry.data)
        while True:
            item = conn.next_item()
            if isinstance(item, NeedData):
                break
            if isinstance(item, Message):
                out.append((entry.t, item))
            elif not isinstance(item, Banner):
                raise AssertionError(item)
    return tuple(out)


@cache
def action_results(name: str) -> dict[str, ActionResult]:
    """The captured answers to the lab client's actions, by ``lab-NNN`` ActionID."""
    conn = AMIConnection()
    for action in client_actions(name):
        conn.send(action)
    conn.receive_data(capture_bytes(name))
    conn.receive_data(b"")
    results: dict[str, ActionResult] = {}
    while True:
        item = conn.next_item()
        if isinstance(item, NeedData):
            return results
        if isinstance(item, ActionResult):
            results[item.action_id] = item


def events(name: str, start: float = 0.0, end: float = math.inf) -> list[tuple[float, Message]]:
    """Unsolicited messages (no ActionID) in ``[start, end)``."""
    return [(t, m) for t, m in rx_messages(name) if m.action_id is None and start <= t < end]


@cache
def _tone(rate: int) -> bytes:
    """One second of a quiet 440 Hz tone, 16-bit PCM."""
    return b"".join(
        struct.pack("<h", int(800 * math.sin(2 * math.pi * 440 * n / rate))) for n in range(rate)
    )


def pcm(size: int, rate: int = 8000) -> bytes:
    """``size`` bytes of the tone."""
    tone = _tone(rate)
    return (tone * (size // len(tone) + 1))[:size]


def wav_bytes(seconds: float, *, final: bool = True, rate: int = 8000) -> bytes:
    """A mono 16-bit PCM WAV of a quiet 440 Hz tone; ``final=False`` leaves the sizes at
    zero, as Asterisk's ``format_wav`` does until it closes the file."""
    body = pcm(round(seconds * rate) * 2, rate)
    return wav_header(len(body) if final else None, rate) + body


def wav_header(data_size: int | None, rate: int = 8000) -> bytes:
    size = 0 if data_size is None else data_size
    riff = 0 if data_size is None else 36 + size
    return (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", size)
    )


def sample_recording() -> bytes:
    """The real MixMonitor recording of ``answered-call`` (27.58 s)."""
    return Path(MIXMONITOR_SAMPLE).read_bytes()
