"""What a recording file holds, read from its own header and checked against its size.

Accepted: RIFF/WAVE with 8–32-bit PCM, IEEE float, µ-law, A-law or GSM 6.10 (Asterisk's
``wav49``), mono or stereo, 8–48 kHz; and Asterisk's raw ``.gsm`` (GSM 06.10 frames).
Everything else, and any file whose header does not match its bytes (truncated, lying
sizes, no audio), is refused with ``RecordingRejected`` naming what is wrong. The chunks
are read by ``transcriber.wav.scan_riff``; what is acceptable evidence is decided here.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from hotline.errors import RecordingRejected
from transcriber import wav
from transcriber.errors import AudioError

_FORMATS = {1: "pcm", 3: "float", 6: "alaw", 7: "mulaw", 0x31: "gsm_ms"}
_GSM_FRAME = 33  # raw GSM 06.10: 33 bytes -> 160 samples at 8 kHz
_GSM_MS_BLOCK = 65  # WAV49 packs two frames (320 samples) into 65 bytes


@dataclass(frozen=True, slots=True)
class AudioInfo:
    container: str
    """``wav`` or ``gsm``."""
    codec: str
    """``pcm_s16le``, ``pcm_u8``, ``pcm_mulaw``, ``pcm_alaw``, ``gsm_ms``, ``gsm``…"""
    sample_rate: int
    channels: int
    frames: int
    data_offset: int
    data_size: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def content_type(self) -> str:
        return "audio/wav" if self.container == "wav" else "audio/x-gsm"


def inspect_file(path: Path, suffix: str | None = None) -> AudioInfo:
    """Read and check a recording's header. Raises ``RecordingRejected``.

    ``suffix`` overrides the file's own (for a copy under a temporary name)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            if size == 0:
                raise RecordingRejected(f"{path}: the file is empty")
            if (suffix or path.suffix).lower() == ".gsm":
                return _inspect_gsm(fh, size, path)
            return _inspect_wav(fh, size, path)
    except FileNotFoundError:
        raise RecordingRejected(f"{path}: no such file") from None
    except IsADirectoryError:
        raise RecordingRejected(f"{path}: is a directory, not a recording") from None
    except PermissionError:
        raise RecordingRejected(f"{path}: permission denied") from None
    except OSError as exc:
        raise RecordingRejected(f"{path}: cannot read ({exc.strerror or exc})") from None


def _inspect_wav(fh: BinaryIO, size: int, path: Path) -> AudioInfo:
    def read(offset: int, count: int) -> bytes:
        fh.seek(offset)
        return fh.read(count)

    head = read(0, 12)
    riff_size = struct.unpack("<I", head[4:8])[0] if len(head) >= 12 else 0
    # Chunks past the size the RIFF header gives are not part of the file.
    end = min(size, riff_size + 8)
    try:
        riff = wav.scan_riff(read, end)
    except AudioError as exc:
        raise RecordingRejected(f"{path}: {exc}") from None
    if riff is None:
        raise RecordingRejected(f"{path}: not a WAV file (no RIFF/WAVE header)")
    if riff_size + 8 > size + 1:  # +1: a missing final pad byte is harmless
        raise RecordingRejected(
            f"{path}: truncated: the header announces {riff_size + 8} bytes, the file has {size}"
        )
    if riff.fmt is None:
        raise RecordingRejected(f"{path}: a WAV file without a fmt chunk")
    if riff.data_offset is None:
        raise RecordingRejected(f"{path}: a WAV file without audio (no data chunk)")
    if riff.data_offset + riff.data_size > size:
        raise RecordingRejected(
            f"{path}: truncated: the data chunk announces {riff.data_size} bytes, "
            f"{size - riff.data_offset} are present"
        )
    fmt = _check_fmt(riff.fmt, path)
    return _wav_info(fmt, riff.data_offset, riff.data_size, riff.fact_frames, path)


def _check_fmt(fmt: wav.FormatChunk, path: Path) -> tuple[int, int, int, int, int]:
    tag, channels, rate, block_align, bits = (
        fmt.tag,
        fmt.channels,
        fmt.sample_rate,
        fmt.block_align,
        fmt.bits,
    )
    if tag not in _FORMATS:
        raise RecordingRejected(f"{path}: unsupported WAV encoding (format tag 0x{tag:04x})")
    if not 1 <= channels <= 8:
        raise RecordingRejected(f"{path}: implausible channel count {channels}")
    if not 8000 <= rate <= 48000:
        raise RecordingRejected(f"{path}: unsupported sample rate {rate} Hz")
    if block_align == 0:
        raise RecordingRejected(f"{path}: the fmt chunk has a zero block size")
    if tag in (1, 3, 6, 7):
        expected = channels * ((bits + 7) // 8)
        if bits == 0 or block_align != expected:
            raise RecordingRejected(
                f"{path}: inconsistent header: {channels} channel(s) of {bits}-bit samples "
                f"need blocks of {expected} bytes, the header says {block_align}"
            )
    return tag, channels, rate, block_align, bits


def _wav_info(
    fmt: tuple[int, int, int, int, int],
    offset: int,
    data_size: int,
    fact_frames: int | None,
    path: Path,
) -> AudioInfo:
    tag, channels, rate, block_align, bits = fmt
    if data_size == 0:
        raise RecordingRejected(f"{path}: the recording holds no audio (empty data chunk)")
    if tag == 0x31:
        if channels != 1 or data_size % _GSM_MS_BLOCK:
            raise RecordingRejected(f"{path}: a GSM WAV with a partial block: truncated")
        frames = data_size // _GSM_MS_BLOCK * 320
        codec = "gsm_ms"
    else:
        if data_size % block_align:
            raise RecordingRejected(
                f"{path}: truncated: {data_size} bytes of audio is not a whole number of "
                f"{block_align}-byte samples"
            )
        frames = data_size // block_align
        codec = {
            1: f"pcm_{'u8' if bits == 8 else f's{bits}le'}",
            3: f"pcm_f{bits}le",
            6: "pcm_alaw",
            7: "pcm_mulaw",
        }[tag]
    if codec == "gsm_ms" and fact_frames and fact_frames < frames:
        frames = fact_frames  # the last block is padded; the fact chunk has the true count
    return AudioInfo("wav", codec, rate, channels, frames, offset, data_size)


def _inspect_gsm(fh: BinaryIO, size: int, path: Path) -> AudioInfo:
    if size % _GSM_FRAME:
        raise RecordingRejected(f"{path}: truncated: not a whole number of 33-byte GSM frames")
    # Every GSM 06.10 frame starts with the 0xD signature nibble; check a sample of them.
    frames = size // _GSM_FRAME
    step = max(1, frames // 64)
    for index in range(0, frames, step):
        fh.seek(index * _GSM_FRAME)
        if fh.read(1)[0] >> 4 != 0xD:
            raise RecordingRejected(f"{path}: not GSM 06.10 audio (bad frame signature)")
    return AudioInfo("gsm", "gsm", 8000, 1, frames * 160, 0, size)
