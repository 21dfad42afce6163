"""Audio in: a file or an array becomes float32 channels at 16 kHz, or a clear error.

WAV files (what PBXs write) are read with ``transcriber.wav`` so their header can be
checked before a byte of audio is decoded: a file that says it holds ten hours is
refused at once instead of being read into memory. Other formats go through FFmpeg
(PyAV, which faster-whisper already needs), with the same limit enforced as frames
arrive. Channels are kept apart: a stereo call is two speakers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from transcriber import wav
from transcriber.errors import AudioError
from transcriber.wav import Float32Array

SAMPLE_RATE = 16000
_HEAD_BYTES = 1 << 16
_log = logging.getLogger(__name__)

AudioInput = str | os.PathLike[str] | np.ndarray


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded audio: one float32 array per channel, 16 kHz, all the same length."""

    channels: tuple[Float32Array, ...]
    source: str
    """What it was: file name and coding, for messages."""

    @property
    def duration(self) -> float:
        return self.channels[0].size / SAMPLE_RATE if self.channels else 0.0

    def mono(self) -> Float32Array:
        """All channels mixed down (an average, so a mixed call stays in range)."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.asarray(np.mean(np.stack(self.channels), axis=0), dtype=np.float32)

    def channels_differ(self) -> bool:
        """False for "stereo" that is one signal twice (a mono call saved as stereo)."""
        if len(self.channels) < 2 or self.channels[0].size == 0:
            return False  # no sample at all (a call hung up at once): nothing to tell apart
        first = self.channels[0]
        return any(float(np.max(np.abs(c - first))) > 1e-3 for c in self.channels[1:])


def load_audio(source: AudioInput, *, max_seconds: float) -> Audio:
    """Decode ``source`` to 16 kHz float32 channels; ``AudioError`` if it is not usable.

    An array is taken as 16 kHz samples already: 1-D (mono) or ``(channels, samples)``.
    """
    if isinstance(source, np.ndarray):
        return _from_array(source, max_seconds)
    path = Path(source)
    if not path.exists():
        raise AudioError(f"{path}: no such file")
    if not path.is_file():
        raise AudioError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes)")
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    layout = wav.parse_header(head, size)
    if layout is not None and layout.encoding != "other":
        channels = _read_wav(path, layout, max_seconds)
        source_name = f"{path.name} ({layout.describe()})"
        rate = layout.sample_rate
    else:
        channels, rate, source_name = _read_ffmpeg(path, max_seconds)
    if channels.shape[1] == 0:
        raise AudioError(f"{source_name}: holds no audio samples (0 seconds)")
    resampled = resample(channels, rate)
    return Audio(tuple(np.ascontiguousarray(c) for c in resampled), source_name)


def _from_array(array: np.ndarray, max_seconds: float) -> Audio:
    if array.dtype == np.int16:
        array = array.astype(np.float32) / 32768.0
    if not np.issubdtype(array.dtype, np.floating):
        raise AudioError(f"audio arrays must be float32 samples at 16 kHz, not {array.dtype}")
    if array.ndim == 2 and array.shape[1] <= 8 < array.shape[0]:
        array = array.T  # (samples, channels), as soundfile returns it
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[0] > 8:
        raise AudioError(
            f"audio arrays must be 1-D or (channels, samples), not shape {array.shape}"
        )
    if array.shape[1] == 0:
        raise AudioError("the audio array is empty (0 samples)")
    if array.shape[1] > max_seconds * SAMPLE_RATE:
        raise _too_long("the audio array holds", array.shape[1] / SAMPLE_RATE, max_seconds)
    samples = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(samples)):
        raise AudioError("the audio array holds NaN or infinite samples")
    return Audio(tuple(np.ascontiguousarray(c) for c in samples), f"array {array.shape}")


def _too_long(what: str, seconds: float, max_seconds: float) -> AudioError:
    return AudioError(
        f"{what} {seconds / 3600:.1f} h of audio, more than the {max_seconds / 3600:.1f} h "
        "limit (max_duration): split the recording or raise the limit"
    )


def _read_wav(path: Path, layout: wav.WavLayout, max_seconds: float) -> Float32Array:
    if layout.declared_seconds > max_seconds:
        raise _too_long(
            f"{path.name}: its WAV header declares", layout.declared_seconds, max_seconds
        )
    if layout.truncated:
        _log.warning(
            "%s: header declares %.1f s but the file holds %.1f s; transcribing what is there",
            path.name,
            layout.declared_seconds,
            layout.seconds,
        )
    with path.open("rb") as f:
        f.seek(layout.data_offset)
        data = f.read(layout.data_size)
    return wav.decode(data, layout)


def _read_ffmpeg(path: Path, max_seconds: float) -> tuple[Float32Array, int, str]:
    import av

    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError(f"{path.name}: not audio (no audio stream)")
            stream = container.streams.audio[0]
            if container.duration is not None and container.duration / 1e6 > max_seconds:
                raise _too_long(
                    f"{path.name}: its header declares", container.duration / 1e6, max_seconds
                )
            rate = int(stream.rate or stream.codec_context.sample_rate or 0)
            if rate <= 0:
                raise AudioError(f"{path.name}: audio stream without a sample rate")
            limit = int(max_seconds * rate)
            blocks: list[Float32Array] = []
            frames = 0
            for frame in _frames(container, stream):
                block = _planar(frame)
                frames += block.shape[1]
                if frames > limit:
                    raise _too_long(f"{path.name}: holds more than", frames / rate, max_seconds)
                blocks.append(block)
            codec = stream.codec_context
            description = f"{path.name} ({codec.name}, {rate} Hz, {codec.channels} channel(s))"
    except AudioError:
        raise
    except Exception as exc:  # FFmpeg reports bad input through many exception types
        raise AudioError(f"{path.name}: not audio that can be decoded ({exc})") from exc
    if not blocks:
        return np.zeros((1, 0), dtype=np.float32), rate, description
    return np.concatenate(blocks, axis=1), rate, description


def _frames(container: Any, stream: Any) -> Iterator[Any]:
    import av

    packets = container.demux(stream)
    for packet in packets:
        try:
            yield from packet.decode()
        except av.error.InvalidDataError:
            continue  # one damaged packet; the rest of the recording is still evidence


def _planar(frame: Any) -> Float32Array:
    """A decoded frame as float32 ``(channels, samples)`` whatever its sample format."""
    array = frame.to_ndarray()
    fmt = frame.format.name
    channels = len(frame.layout.channels)
    if not frame.format.is_planar:
        array = array.reshape(-1, channels).T
    if fmt.startswith("s16"):
        scaled = array.astype(np.float64) / 32768.0
    elif fmt.startswith("s32"):
        scaled = array.astype(np.float64) / 2147483648.0
    elif fmt.startswith("u8"):
        scaled = (array.astype(np.float64) - 128.0) / 128.0
    else:
        scaled = array
    return np.asarray(scaled, dtype=np.float32)


def resample(channels: Float32Array, rate: int, target: int = SAMPLE_RATE) -> Float32Array:
    """``(channels, samples)`` from ``rate`` to ``target`` Hz with FFmpeg's resampler.

    Each channel goes through alone, so no layout beyond mono is ever assumed.
    """
    if rate == target:
        return channels.astype(np.float32, copy=False)
    import av

    out = []
    step = rate * 30
    for channel in channels:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=target)
        pieces: list[Float32Array] = []
        for start in range(0, channel.size, step):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(channel[np.newaxis, start : start + step]),
                format="fltp",
                layout="mono",
            )
            frame.sample_rate = rate
            pieces.extend(f.to_ndarray()[0] for f in resampler.resample(frame))
        pieces.extend(f.to_ndarray()[0] for f in resampler.resample(None))
        out.append(np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32))
    length = min(len(c) for c in out)
    return np.stack([c[:length] for c in out]).astype(np.float32, copy=False)
