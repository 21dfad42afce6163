"""WAV files as a PBX writes them: RIFF header parsing and sample decoding, no I/O.

Asterisk (``wav``/``wav16``/``ulaw``-in-WAV), sox and most PBXs write RIFF/WAVE with
PCM (format 1), IEEE float (3), A-law (6) or µ-law (7), sometimes wrapped in
WAVE_FORMAT_EXTENSIBLE (0xFFFE). Anything else (GSM ``WAV49``, MP3-in-WAV…) is left
to FFmpeg. A recorder that died before closing its file leaves a data size of 0
(Asterisk writes the sizes on close) or 0xFFFFFFFF (streaming writers): the data then
runs to the end of the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

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


def parse_header(head: bytes, file_size: int) -> WavLayout | None:
    """The layout of a WAV file from its first bytes; ``None`` if it is not RIFF/WAVE.

    ``head`` must reach the start of the data chunk (64 KiB is plenty for real files).
    Raises ``AudioError`` for a WAV whose header cannot be used.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    fmt: tuple[int, int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(head):
        chunk_id, size = head[pos : pos + 4], struct.unpack_from("<I", head, pos + 4)[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(head):
                raise AudioError("WAV 'fmt ' chunk is too short")
            tag, channels, rate, _byte_rate, align, bits = struct.unpack_from("<HHIIHH", head, body)
            if tag == _EXTENSIBLE and size >= 40 and body + 26 <= len(head):
                tag = struct.unpack_from("<H", head, body + 24)[
                    0
                ]  # first 2 bytes of the sub-format GUID
            fmt = (tag, channels, rate, align, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError("WAV data chunk comes before its 'fmt ' chunk")
            tag, channels, rate, align, bits = fmt
            if channels < 1 or not 1000 <= rate <= 384_000 or align < 1:
                raise AudioError(
                    f"WAV header is corrupt ({channels} channels, {rate} Hz, block {align})"
                )
            return WavLayout(
                encoding=_TAGS.get(tag, "other"),
                format_tag=tag,
                channels=channels,
                sample_rate=rate,
                bits=bits,
                block_align=align,
                data_offset=body,
                declared_size=None if size in _UNKNOWN_SIZES else size,
                available=max(0, file_size - body),
            )
        pos = body + size + (size & 1)  # chunks are padded to an even length
    return None


def _g711_table(law: Literal["ulaw", "alaw"]) -> Float32Array:
    """The 256 G.711 code words as linear samples in [-1, 1) (ITU-T G.711 tables 1 and 2)."""
    code = np.arange(256, dtype=np.int32)
    if law == "ulaw":
        code = ~code & 0xFF
        exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
        magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
        linear = np.where(code & 0x80, -magnitude, magnitude)
    else:
        code = code ^ 0x55
        exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
        magnitude = np.where(
            exponent == 0,
            (mantissa << 4) + 8,
            ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
        )
        linear = np.where(code & 0x80, magnitude, -magnitude)
    return (linear / 32768.0).astype(np.float32)


_ULAW = _g711_table("ulaw")
_ALAW = _g711_table("alaw")


def decode(data: bytes, layout: WavLayout) -> Float32Array:
    """Samples as float32 in [-1, 1], shaped ``(channels, frames)``."""
    usable = len(data) - len(data) % layout.block_align
    raw = np.frombuffer(data, dtype=np.uint8, count=usable)
    width = layout.block_align // layout.channels
    enc = layout.encoding
    if enc in ("ulaw", "alaw") and width == 1:
        samples = (_ULAW if enc == "ulaw" else _ALAW)[raw]
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
