"""The recording copy: the sealed WAV's own format and samples, with each redacted time
span replaced by a 1 kHz tone, the copy's number in a ``LIST``/``INFO`` chunk, and
optionally only a time window of it.

Pure: a readable stream of the original in, the copy written to another stream (which
need not seek: sizes are known before the first byte), facts out. The samples outside
the spans are the original bytes, untouched; inside, the tone is encoded in the
original's own codec (PCM of any width, float, µ-law, A-law).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from hotline.rtp import g711

TONE_HZ = 1000.0
TONE_LEVEL = 0.3
"""Of full scale: clearly audible, well clear of clipping."""
_CHUNK_FRAMES = 1 << 16

_WIDTH = {
    "pcm_u8": 1,
    "pcm_s16le": 2,
    "pcm_s24le": 3,
    "pcm_s32le": 4,
    "pcm_f32le": 4,
    "pcm_f64le": 8,
    "pcm_mulaw": 1,
    "pcm_alaw": 1,
}
CODECS = frozenset(_WIDTH)
"""Codecs whose copies keep the original's format (GSM is decoded to 16-bit PCM first:
there is no GSM encoder here)."""


class UnsupportedCodec(ValueError):
    """The original's codec cannot be written back (GSM)."""


@dataclass(frozen=True, slots=True)
class Span:
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class WavHeader:
    """What the copy reuses of the original's header."""

    fmt: bytes
    """The ``fmt `` chunk's body, as the original has it."""
    codec: str
    sample_rate: int
    channels: int
    data_offset: int
    data_size: int

    @property
    def block(self) -> int:
        return _WIDTH[self.codec] * self.channels

    @property
    def frames(self) -> int:
        return self.data_size // self.block


@dataclass(frozen=True, slots=True)
class CopyFacts:
    frames: int
    size: int
    """Bytes written."""
    bleeped: tuple[Span, ...]
    """The spans replaced, in seconds from the copy's own start."""
    offset: float
    """Where the copy starts in the original, in seconds."""


def read_header(src: BinaryIO, codec: str, data_offset: int, data_size: int) -> WavHeader:
    """The ``fmt `` chunk of a WAV whose layout ``inspect_file`` already checked."""
    if codec not in CODECS:
        raise UnsupportedCodec(f"no encoder for {codec}")
    src.seek(0)
    head = src.read(data_offset)
    pos = 12
    while pos + 8 <= len(head):
        chunk_id, size = struct.unpack("<4sI", head[pos : pos + 8])
        if chunk_id == b"fmt ":
            fmt = head[pos + 8 : pos + 8 + size]
            _, channels, rate = struct.unpack("<HHI", fmt[:8])
            return WavHeader(fmt, codec, rate, channels, data_offset, data_size)
        pos += 8 + size + (size & 1)
    raise ValueError("no fmt chunk before the data")


def info_chunk(fields: Sequence[tuple[bytes, str]]) -> bytes:
    """A ``LIST``/``INFO`` chunk (RIFF: each text NUL-terminated, padded to even)."""
    body = b"INFO"
    for key, value in fields:
        text = value.encode("utf-8") + b"\0"
        body += key + struct.pack("<I", len(text)) + text + (b"\0" if len(text) & 1 else b"")
    return b"LIST" + struct.pack("<I", len(body)) + body


def tone(first_frame: int, count: int, header: WavHeader) -> bytes:
    """``count`` frames of the tone from absolute frame ``first_frame`` (so consecutive
    pieces join without a click), encoded as the original is."""
    n = np.arange(first_frame, first_frame + count, dtype=np.float64)
    wave = TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * n / header.sample_rate)
    wave = np.repeat(wave, header.channels)
    return _encode(wave, header.codec)


def _encode(wave: npt.NDArray[np.float64], codec: str) -> bytes:
    pcm16 = np.round(wave * 32767).astype(np.int16)
    match codec:
        case "pcm_s16le":
            return pcm16.astype("<i2").tobytes()
        case "pcm_u8":
            return (np.round(wave * 127) + 128).astype(np.uint8).tobytes()
        case "pcm_s24le":
            as32 = np.round(wave * 8388607).astype("<i4")
            return as32.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        case "pcm_s32le":
            return np.round(wave * 2147483647).astype("<i4").tobytes()
        case "pcm_f32le":
            return wave.astype("<f4").tobytes()
        case "pcm_f64le":
            return wave.astype("<f8").tobytes()
        case "pcm_mulaw":
            return g711.encode(pcm16, g711.PCMU)
        case "pcm_alaw":
            return g711.encode(pcm16, g711.PCMA)
    raise UnsupportedCodec(codec)


def _frame_spans(spans: Sequence[Span], rate: int, first: int, last: int) -> list[tuple[int, int]]:
    """Spans as merged, sorted frame ranges within [first, last)."""
    ranges = sorted(
        (max(first, int(s.start * rate)), min(last, int(np.ceil(s.end * rate))))
        for s in spans
        if s.end > s.start
    )
    merged: list[tuple[int, int]] = []
    for a, b in ranges:
        if a >= b:
            continue
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def write_copy(
    src: BinaryIO,
    header: WavHeader,
    dst: BinaryIO,
    *,
    info: Sequence[tuple[bytes, str]],
    spans: Sequence[Span] = (),
    window: tuple[float, float] | None = None,
) -> CopyFacts:
    """Write the copy of the original ``src`` to ``dst``; ``spans`` in seconds from the
    original's start; ``window`` keeps only that part (seconds, start and end)."""
    rate, block = header.sample_rate, header.block
    first, last = 0, header.frames
    if window is not None:
        first = min(last, max(0, int(window[0] * rate)))
        last = max(first, min(last, int(np.ceil(window[1] * rate))))
    frames = last - first
    listing = info_chunk(info)
    fmt = header.fmt + (b"\0" if len(header.fmt) & 1 else b"")
    fact = (
        b""
        if header.codec.startswith("pcm_")
        and header.codec
        not in {
            "pcm_mulaw",
            "pcm_alaw",
        }
        else b"fact" + struct.pack("<II", 4, frames)
    )
    data_size = frames * block
    pad = b"\0" if data_size & 1 else b""
    riff = 4 + (8 + len(fmt)) + len(fact) + len(listing) + 8 + data_size + len(pad)
    head = (
        b"RIFF"
        + struct.pack("<I", riff)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(header.fmt))
        + fmt
        + fact
        + listing
        + b"data"
        + struct.pack("<I", data_size)
    )
    dst.write(head)
    bleep = _frame_spans(spans, rate, first, last)
    src.seek(header.data_offset + first * block)
    at = first
    while at < last:
        count = min(_CHUNK_FRAMES, last - at)
        buf = bytearray(src.read(count * block))
        if len(buf) != count * block:
            raise ValueError("the original ended before its data chunk did")
        for a, b in bleep:
            lo, hi = max(a, at), min(b, at + count)
            if lo < hi:
                buf[(lo - at) * block : (hi - at) * block] = tone(lo, hi - lo, header)
        dst.write(buf)
        at += count
    dst.write(pad)
    return CopyFacts(
        frames=frames,
        size=8 + riff,
        bleeped=tuple(Span((a - first) / rate, (b - first) / rate) for a, b in bleep),
        offset=first / rate,
    )
