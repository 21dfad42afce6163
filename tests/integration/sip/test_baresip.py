"""baresip, a real softphone, calls the line, talks and hangs up."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.calls import CallEnded, RecordingFinished
from tests.integration.sip.conftest import KEYWORDS, LineFactory, Speech, read_recording
from tests.support.sip_peers import HOTLINE, run_baresip

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.mark.parametrize("codec", ["PCMU", "PCMA"])
async def test_baresip_calls_and_hangs_up(
    codec: str, tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    line = await start_line()
    output = await run_baresip(
        tmp_path, test_speech.report, f"sip:{HOTLINE}@{line.target}", codec=codec
    )
    assert "Call established" in output, output[-2000:]
    await line.facts.ended()
    ended = line.facts.of(CallEnded)[0]
    assert ended.answered and ended.cause == "caller hung up"
    finished = line.facts.of(RecordingFinished)[0]
    assert finished.details["codec"] == codec and finished.details["packets_lost"] == "0"
    caller, sent = read_recording(finished.path)
    duration = len(caller) / 8000
    assert abs(duration - finished.expected_duration) < 0.1
    # baresip hangs up when its file ends: the call lasts the speech, give or take setup.
    assert (
        test_speech.seconds(test_speech.report) - 0.5
        < duration
        < test_speech.seconds(test_speech.report) + 2
    )
    said = transcribe(caller)
    assert all(word in said for word in KEYWORDS), said
    assert sent.any()  # the notice went out while baresip talked
