"""Fixtures for the SIP line against real SIP peers: a started line on free ports with a
sink that collects its facts, test speech, and one loaded speech model per session."""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest

from hotline.calls import CallEnded, CallFact
from hotline.errors import StorageError
from hotline.sip.config import SIPConfig, default_notice
from hotline.sip.line import SIPLine
from tests.support import speech

F = TypeVar("F")

# Sentences and the words of them that tiny.en gets right from the espeak source itself.
REPORT_EN = "I want to report false statistics at the cement factory near the river."
REPORT_EN_2 = "The factory manager told us to change the numbers in the survey."
KEYWORDS = ("report", "statistics", "river")
KEYWORDS_2 = ("manager", "change", "number")


@dataclass
class Facts:
    """The sink: collects facts and lets a test wait for them. Facts of the kinds in
    ``refuse`` are refused as a store that is down refuses them (and kept in ``refused``);
    one of a kind in ``stall`` blocks the event loop for that many seconds first, as a
    store written to synchronously would."""

    items: list[CallFact] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    refuse: tuple[type[Any], ...] = ()
    refused: list[CallFact] = field(default_factory=list)
    stall: dict[type[Any], float] = field(default_factory=dict)

    async def __call__(self, fact: CallFact) -> None:
        if pause := self.stall.get(type(fact)):
            time.sleep(pause)  # noqa: ASYNC251 - blocking the loop is the point
        if isinstance(fact, self.refuse):
            self.refused.append(fact)
            raise StorageError("the database is unavailable")
        self.items.append(fact)
        self.changed.set()

    def of(self, kind: type[F], call_id: str | None = None) -> list[F]:
        return [
            f
            for f in self.items
            if isinstance(f, kind) and (call_id is None or f.call_id == call_id)
        ]  # type: ignore[attr-defined]

    async def wait_for(self, kind: type[Any], count: int = 1, within: float = 30) -> None:
        async def until() -> None:
            while len(self.of(kind)) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), within)

    async def ended(self, count: int = 1, within: float = 30) -> None:
        await self.wait_for(CallEnded, count, within)


@dataclass
class Line:
    line: SIPLine
    facts: Facts
    recordings: Path

    @property
    def port(self) -> int:
        return int(self.line.status.listening[0].rsplit(":", 1)[1])

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


LineFactory = Callable[..., Awaitable[Line]]


@pytest.fixture
async def start_line(tmp_path: Path) -> AsyncIterator[LineFactory]:
    started: list[SIPLine] = []

    async def start(facts: Facts | None = None, **overrides: Any) -> Line:
        facts = facts or Facts()
        settings: dict[str, Any] = dict(
            recordings_dir=tmp_path / "spool" / "sip",
            port=0,
            rtp_port_range=None,
            notice_path=default_notice("en"),
            ring_seconds=0.2,
            shutdown_grace=3.0,
        )
        settings.update(overrides)
        line = SIPLine(SIPConfig(**settings), facts)
        await line.start()
        started.append(line)
        return Line(line, facts, settings["recordings_dir"])

    yield start
    for line in started:
        await asyncio.wait_for(line.stop(), 15)


@dataclass(frozen=True)
class Speech:
    report: Path
    report_2: Path
    short: Path
    """About two seconds, for tests about signalling and bits rather than words."""

    def seconds(self, path: Path) -> float:
        with wave.open(str(path)) as wav:
            return wav.getnframes() / wav.getframerate()


@pytest.fixture(scope="session")
def test_speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    where = tmp_path_factory.mktemp("speech")
    return Speech(
        speech.phone_speech(REPORT_EN, where / "report.wav"),
        speech.phone_speech(REPORT_EN_2, where / "report2.wav"),
        speech.phone_speech("This is a short test call.", where / "short.wav"),
    )


@pytest.fixture(scope="session")
def transcribe() -> Callable[[np.ndarray], str]:
    """Channel samples (8 kHz int16) → English text, lower-cased."""
    import transcriber

    model = transcriber.load("bundled-tiny.en")

    def run(samples: np.ndarray) -> str:
        audio = samples.astype(np.float32) / 32768.0
        audio16k = np.interp(np.arange(2 * len(audio)) / 2, np.arange(len(audio)), audio)
        return model.transcribe(audio16k, language="en").text.lower()

    return run


def read_recording(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A finished recording's two channels: (caller, sent)."""
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    return frames[:, 0], frames[:, 1]


def find_exact(channel: np.ndarray, source: Path, codec: str, lost: Collection[int] = ()) -> int:
    """Where the G.711 version of ``source`` sits, sample for sample, in ``channel``, with
    silence for the 20 ms packets numbered in ``lost`` (-1 if it is not there unchanged)."""
    from tests.support import g711_reference
    from tests.support.sip_pcap import read_pcm

    # By the written-out G.711 tables, not the codec under test.
    expected = g711_reference.decode(g711_reference.encode(read_pcm(source), codec), codec).copy()
    for index in lost:
        expected[index * 160 : (index + 1) * 160] = 0
    # A probe of 400 samples of speech (not of lost silence) to find it by.
    start = next(
        int(i)
        for i in np.flatnonzero(np.abs(expected) > 1000)
        if np.count_nonzero(expected[i : i + 400]) > 300
    )
    probe = expected[start : start + 400]
    windows = np.lib.stride_tricks.sliding_window_view(channel, len(probe))
    hits = np.flatnonzero((windows == probe).all(axis=1))
    if not len(hits):
        return -1
    offset = int(hits[0]) - start
    segment = channel[offset : offset + len(expected)]
    return offset if offset >= 0 and np.array_equal(segment, expected) else -1
