"""The recording file: two channels on one timeline, hidden until complete, never
overwriting."""

from __future__ import annotations

import resource
import wave
from pathlib import Path

import numpy as np

from hotline.rtp.recording import CALLER, SENT, CallRecorder, final_name, salvage


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
    # Already on disk: written into it there, the other channel left as it was.
    recorder.put(CALLER, 10, np.ones(10, dtype=np.int16))
    assert (recorder.late, recorder.discarded) == (10, 0)
    recorder.max_late = 100
    recorder.put(CALLER, 0, np.full(5, 9, dtype=np.int16))  # further back than that
    assert (recorder.late, recorder.discarded) == (10, 5)
    recorder.put(CALLER, 4800, np.full(400, 3, dtype=np.int16))  # runs past the end
    recorder.put(CALLER, 5000 + 8000 + 100, np.full(50, 4, dtype=np.int16))  # far past it
    path = recorder.close(5000)
    assert path == target and not recorder.partial.exists()
    frames = read(path)
    assert len(frames) == 5000 + 8000  # up to a second past the end is kept, no more
    assert (frames[:10, 0] == 50).all() and (frames[10:20, 0] == 1).all()
    assert (frames[20:160, 0] == 50).all() and (frames[160:320, 0] == 100).all()
    assert (frames[:320, 1] == -7).all() and not frames[320:4800].any()
    assert (frames[4800:5200, 0] == 3).all() and not frames[5200:].any()


def test_a_finished_name_is_never_reused(tmp_path: Path) -> None:
    (tmp_path / "call.wav").write_bytes(b"an earlier recording")
    path = CallRecorder(tmp_path / "call.wav").close(80)
    assert (
        path.name == "call-1.wav"
        and (tmp_path / "call.wav").read_bytes() == b"an earlier recording"
    )


def test_a_recording_cut_by_a_full_disk_keeps_what_reached_it(tmp_path: Path) -> None:
    limit = 44 + 4 * 8000 + 3  # one second of frames, and a torn one
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    recorder = CallRecorder(tmp_path / "call.wav", horizon=800, block=800)
    speech = np.arange(8000 * 3, dtype=np.int16)
    failure: OSError | None = None
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        recorder.put(CALLER, 0, speech)
        recorder.advance(len(speech) + 800)
    except OSError as exc:  # EFBIG, as ENOSPC on a full disk
        failure = exc
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert failure is not None
    recorder.abandon()
    path = recorder.close(len(speech))
    frames = read(path)
    assert path.name == "call.wav" and not recorder.partial.exists()
    assert 0 < len(frames) <= 8000 and recorder.frames == len(frames)
    assert (frames[:, 0] == speech[: len(frames)]).all()


def test_salvage_finishes_what_a_killed_process_left(tmp_path: Path) -> None:
    target = tmp_path / "call.wav"
    recorder = CallRecorder(target, horizon=800, block=800)
    recorder.put(CALLER, 0, np.full(4000, 9, dtype=np.int16))
    recorder.advance(4000)  # 3200 frames reach the disk; the header still says 0
    with open(recorder.partial, "ab") as f:
        f.write(b"\x01\x02\x03")  # a frame torn by the kill
    assert final_name(recorder.partial) == target
    path, frames = salvage(recorder.partial, target)
    assert path == target and frames == 3200 and not recorder.partial.exists()
    assert (read(path)[:, 0] == 9).all() and len(read(path)) == 3200
