"""WAV files as a PBX writes them: RIFF header parsing and sample decoding, no I/O.

The one RIFF/WAVE chunk reader of the project (``scan_riff``): the transcriber reads
its layout here, and the evidence store's checks and the Asterisk source's "is the
file closed" test read the same chunks through it, each with its own policy.

Asterisk (``wav``/``wav16``/``ulaw``-in-WAV), sox and most PBXs write RIFF/WAVE with
PCM (format 1), IEEE float (3), A-law (6) or µ-law (7), sometimes wrapped in
WAVE_FORMAT_EXTENSIBLE (0xFFFE). Anything else (GSM ``WAV49``, MP3-in-WAV…) is left
to FFmpeg. A recorder that died before closing its file leaves a data size of 0
(Asterisk writes the sizes on close) or 0xFFFFFFFF (streaming writers): the data then
runs to the end of the file.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from transcriber import g711
from transcriber.errors import AudioError

Encoding = Literal["pcm", "float", "ulaw", "alaw", "other"]
Float32Array = npt.NDArray[np.float32]

_TAGS: dict[int, Encoding] = {1: "pcm", 3: "float", 6: "alaw", 7: "ulaw"}
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class WavLayout:
    """Where the samples are in a WAV file and how they are coded."""

    encoding: Encoding
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    block_align: int
    data_offset: int
    """Byte offset of the first sample."""
    declared_size: int | None
    """Data size the header states; ``None`` when the writer never filled it in."""
    available: int
    """Data bytes actually present in the file."""

    @property
    def data_size(self) -> int:
        """Bytes to decode: what the header declares, cut to what the file holds."""
        size = (
            self.available
            if self.declared_size is None
            else min(self.declared_size, self.available)
        )
        return size - size % self.block_align

    @property
    def declared_seconds(self) -> float:
        size = self.available if self.declared_size is None else self.declared_size
        return size / (self.block_align * self.sample_rate)

    @property
    def seconds(self) -> float:
        return self.data_size / (self.block_align * self.sample_rate)

    @property
    def truncated(self) -> bool:
        return self.declared_size is not None and self.declared_size > self.available

    def describe(self) -> str:
        coding = {"pcm": f"PCM {self.bits}-bit", "float": f"float {self.bits}-bit"}.get(
            self.encoding,
            {"ulaw": "µ-law", "alaw": "A-law"}.get(self.encoding, f"format {self.format_tag:#x}"),
        )
        return f"WAV {coding}, {self.sample_rate} Hz, {self.channels} channel(s)"


@dataclass(frozen=True, slots=True)
class FormatChunk:
    """A WAV ``fmt `` chunk; ``tag`` is the coding, read through WAVE_FORMAT_EXTENSIBLE."""

    tag: int
    channels: int
    sample_rate: int
    byte_rate: int
    block_align: int
    bits: int

    @classmethod
    def parse(cls, body: bytes) -> FormatChunk:
        if len(body) < 16:
            raise AudioError("the WAV 'fmt ' chunk is too short")
        tag, channels, rate, byte_rate, align, bits = struct.unpack_from("<HHIIHH", body)
        if tag == _EXTENSIBLE and len(body) >= 26:
            tag = struct.unpack_from("<H", body, 24)[0]  # first 2 bytes of the sub-format GUID
        return cls(tag, channels, rate, byte_rate, align, bits)


@dataclass(frozen=True, slots=True)
class RiffWave:
    """The chunks of a RIFF/WAVE file up to its audio, as the header states them."""

    riff_size: int
    """The size the RIFF header gives (the file's length minus 8 once it is written)."""
    fmt: FormatChunk | None
    fact_frames: int | None
    """The frame count of a ``fact`` chunk (compressed codings), if there is one."""
    data_offset: int | None
    """Byte offset of the first sample; ``None`` when no data chunk was found."""
    data_size: int
    """The data chunk's size as written (0 or 0xFFFFFFFF by a writer that never closed)."""


ReadAt = Callable[[int, int], bytes]
"""``read(offset, count)``: up to ``count`` bytes of the file from ``offset``."""


def scan_riff(read: ReadAt, end: int) -> RiffWave | None:
    """Walk a RIFF/WAVE file's chunks (up to byte ``end``) to its data chunk.

    ``None`` if the file does not start as RIFF/WAVE. Raises ``AudioError`` for a
    ``fmt `` chunk too short to read and for a data chunk before any ``fmt `` chunk.
    Chunks are padded to an even length; unknown ones are skipped.
    """
    head = read(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    riff_size = struct.unpack_from("<I", head, 4)[0]
    fmt: FormatChunk | None = None
    fact_frames: int | None = None
    pos = 12
    while pos + 8 <= end:
        chunk = read(pos, 8)
        if len(chunk) < 8:
            break
        chunk_id, size = chunk[:4], struct.unpack_from("<I", chunk, 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            fmt = FormatChunk.parse(read(body, min(size, 40)))
        elif chunk_id == b"fact" and size >= 4:
            raw = read(body, 4)
            fact_frames = struct.unpack("<I", raw)[0] if len(raw) == 4 else None
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError("the WAV data chunk comes before its 'fmt ' chunk")
            return RiffWave(riff_size, fmt, fact_frames, body, size)
        pos = body + size + (size & 1)
    return RiffWave(riff_size, fmt, fact_frames, None, 0)


def scan_bytes(head: bytes) -> RiffWave | None:
    """``scan_riff`` over the first bytes of a file (they must reach its data chunk)."""
    return scan_riff(lambda offset, count: head[offset : offset + count], len(head))


def parse_header(head: bytes, file_size: int) -> WavLayout | None:
    """The layout of a WAV file from its first bytes; ``None`` if it is not RIFF/WAVE.

    ``head`` must reach the start of the data chunk (64 KiB is plenty for real files).
    Raises ``AudioError`` for a WAV whose header cannot be used.
    """
    riff = scan_bytes(head)
    if riff is None or riff.data_offset is None or riff.fmt is None:
        return None
    fmt = riff.fmt
    if fmt.channels < 1 or not 1000 <= fmt.sample_rate <= 384_000 or fmt.block_align < 1:
        raise AudioError(
            f"WAV header is corrupt ({fmt.channels} channels, {fmt.sample_rate} Hz, "
            f"block {fmt.block_align})"
        )
    return WavLayout(
        encoding=_TAGS.get(fmt.tag, "other"),
        format_tag=fmt.tag,
        channels=fmt.channels,
        sample_rate=fmt.sample_rate,
        bits=fmt.bits,
        block_align=fmt.block_align,
        data_offset=riff.data_offset,
        declared_size=None if riff.data_size in _UNKNOWN_SIZES else riff.data_size,
        available=max(0, file_size - riff.data_offset),
    )


_FLOAT_TABLES: dict[str, Float32Array] = {
    law: (table / 32768.0).astype(np.float32) for law, table in g711.DECODE.items()
}


def decode(data: bytes, layout: WavLayout) -> Float32Array:
    """Samples as float32 in [-1, 1], shaped ``(channels, frames)``."""
    usable = len(data) - len(data) % layout.block_align
    raw = np.frombuffer(data, dtype=np.uint8, count=usable)
    width = layout.block_align // layout.channels
    enc = layout.encoding
    if enc in ("ulaw", "alaw") and width == 1:
        samples = _FLOAT_TABLES[enc][raw]
    elif enc == "pcm" and width == 1:
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    elif enc == "pcm" and width == 2:
        samples = raw.view("<i2").astype(np.float32) / 32768.0
    elif enc == "pcm" and width == 3:
        triplets = raw.reshape(-1, 3).astype(np.int32)
        value = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        value = np.where(value & 0x800000, value - (1 << 24), value)
        samples = value.astype(np.float32) / float(1 << 23)
    elif enc == "pcm" and width == 4:
        samples = (raw.view("<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    elif enc == "float" and width in (4, 8):
        samples = raw.view("<f4" if width == 4 else "<f8").astype(np.float32)
    else:
        raise AudioError(f"{layout.describe()}: {width}-byte samples are not supported")
    return np.ascontiguousarray(samples.reshape(-1, layout.channels).T)
