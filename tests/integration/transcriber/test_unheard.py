"""Speech that batched decoding left without text is decoded on its own.

A window whose batched decoding ends early leaves the rest of its speech unwritten:
the model wrote 12 s of a 29 s window of a five-minute Mandarin call and stopped, and
18 s of the report were in no segment. Here the same loss is made on a report call by
keeping only the segments of its first 20 s, and then by adding a few words stretched
over the rest."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support import report_calls
from transcriber.audio import load_audio
from transcriber.backends import RawSegment, Request
from transcriber.backends.faster import FasterWhisper
from transcriber.metrics import cer
from transcriber.models import locate
from transcriber.options import Options
from transcriber.result import Word

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend() -> FasterWhisper:
    return FasterWhisper(locate(None), device="cpu", compute_type="int8", cpu_threads=0)


def test_speech_left_without_text_is_decoded_alone(backend: FasterWhisper) -> None:
    audio = load_audio(report_calls.call("hongda"), max_seconds=120).channels[0]
    options = Options()
    request = Request("zh", options.prompt_for("zh"), options.hotwords_for("zh"), options)
    full = backend.decode(audio, request)
    reference = report_calls.reference("hongda")
    # Every stretch of speech has words: nothing is decoded twice.
    assert backend.fill_unheard(audio, full, request) == full
    # A window that stopped within its first 20 s.
    cut = [s for s in full if s.end <= 20.0]
    assert cer(reference, "".join(s.text for s in cut)) > 0.3
    filled = backend.fill_unheard(audio, cut, request)
    assert filled[: len(cut)] == cut
    assert [s.start for s in filled] == sorted(s.start for s in filled)
    assert all(s.words and s.start >= cut[-1].end for s in filled[len(cut) :])
    text = "".join(s.text for s in filled)
    assert cer(reference, text) <= 0.1, text
    assert "统计台账" in text and "统计执法" in text
    # A window that wrote a few words for speech it did not hear, the alignment
    # stretching them over it (seen: one character timed over 10 s): replaced.
    at = cut[-1].end + 0.5
    until = len(audio) / 16000 - 1.0
    stretched = RawSegment(
        start=at,
        end=until,
        text="我的身份证号",
        avg_logprob=-0.2,
        no_speech_prob=0.01,
        compression_ratio=1.0,
        words=(Word(at, at + 0.3, "我的", 0.9), Word(at + 0.3, until, "身份证号", 0.5)),
    )
    filled = backend.fill_unheard(audio, [*cut, stretched], request)
    assert stretched not in filled and filled[: len(cut)] == cut
    assert cer(reference, "".join(s.text for s in filled)) <= 0.1, filled
    # Turned off, what was decoded is all there is.
    off = replace(request, options=replace(options, unheard_seconds=None))
    assert backend.fill_unheard(audio, cut, off) == cut
