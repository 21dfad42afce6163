"""The recording file: two channels on one timeline, hidden until complete, never
overwriting."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from hotline.rtp.recording import CALLER, SENT, CallRecorder


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (2, 8000, 2)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)


def test_channels_positions_and_length(tmp_path: Path) -> None:
    target = tmp_path / "call.wav"
    recorder = CallRecorder(target, horizon=800, block=800)
    assert not target.exists() and recorder.partial.exists()
    recorder.put(CALLER, 160, np.full(160, 100, dtype=np.int16))
    recorder.put(CALLER, 0, np.full(160, 50, dtype=np.int16))  # out of order is fine
    recorder.put(SENT, 0, np.full(320, -7, dtype=np.int16))
    recorder.advance(4000)
    assert recorder.frames >= 800
    recorder.put(CALLER, 10, np.ones(10, dtype=np.int16))  # already on disk: discarded
    assert recorder.discarded == 10
    recorder.put(CALLER, 4800, np.full(400, 3, dtype=np.int16))  # runs past the end
    path = recorder.close(5000)
    assert path == target and not recorder.partial.exists()
    frames = read(path)
    assert len(frames) == 5000
    assert (frames[:160, 0] == 50).all() and (frames[160:320, 0] == 100).all()
    assert (frames[:320, 1] == -7).all() and not frames[320:4800].any()
    assert (frames[4800:, 0] == 3).all()


def test_a_finished_name_is_never_reused(tmp_path: Path) -> None:
    (tmp_path / "call.wav").write_bytes(b"an earlier recording")
    path = CallRecorder(tmp_path / "call.wav").close(80)
    assert (
        path.name == "call-1.wav"
        and (tmp_path / "call.wav").read_bytes() == b"an earlier recording"
    )
