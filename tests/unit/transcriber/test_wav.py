"""WAV headers and sample coding as PBXs write them, built byte by byte."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from transcriber.errors import AudioError
from transcriber.wav import decode, parse_header


def wav_bytes(
    data: bytes,
    *,
    tag: int = 1,
    channels: int = 1,
    rate: int = 8000,
    bits: int = 16,
    declared: int | None = None,
    extensible: bool = False,
    extra_chunk: bytes = b"",
) -> bytes:
    align = channels * max(1, bits // 8)
    if extensible:
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * align, align, bits)
        fmt += (
            struct.pack("<HHI", 22, bits, 0)
            + struct.pack("<H", tag)
            + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        )
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunk
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_pcm16_stereo_is_split_into_channels() -> None:
    frames = np.array([[1000, -1000], [2000, -2000], [3000, -3000]], dtype="<i2")
    raw = wav_bytes(frames.tobytes(), channels=2)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.channels == 2 and layout.sample_rate == 8000
    samples = decode(raw[layout.data_offset :], layout)
    assert samples.shape == (2, 3)
    np.testing.assert_allclose(samples[0] * 32768, [1000, 2000, 3000])
    np.testing.assert_allclose(samples[1] * 32768, [-1000, -2000, -3000])


@pytest.mark.parametrize(
    ("tag", "codes", "expected"),
    [
        (
            7,
            [0x00, 0x80, 0xFF, 0x7F],
            [-32124, 32124, 0, 0],
        ),  # µ-law: G.711 table 2 extremes and zeros
        (6, [0x55, 0xD5, 0x2A, 0xAA], [-8, 8, -32256, 32256]),  # A-law
    ],
)
def test_g711_codes_decode_to_the_itu_values(
    tag: int, codes: list[int], expected: list[int]
) -> None:
    raw = wav_bytes(bytes(codes), tag=tag, bits=8)
    layout = parse_header(raw, len(raw))
    assert layout is not None
    np.testing.assert_allclose(decode(raw[layout.data_offset :], layout)[0] * 32768, expected)


def test_ulaw_is_monotonic_over_its_positive_half() -> None:
    raw = wav_bytes(bytes(range(0x80, 0x100)), tag=7, bits=8)
    layout = parse_header(raw, len(raw))
    assert layout is not None
    values = decode(raw[layout.data_offset :], layout)[0]
    assert np.all(np.diff(values) <= 0)  # 0x80 is the loudest positive code, 0xFF zero


def test_24_bit_and_extensible_pcm() -> None:
    samples = [0x7FFFFF, -0x800000, 1]
    data = b"".join(struct.pack("<i", s)[:3] for s in samples)
    raw = wav_bytes(data, bits=24, extensible=True)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.encoding == "pcm" and layout.bits == 24
    np.testing.assert_allclose(decode(raw[layout.data_offset :], layout)[0] * (1 << 23), samples)


def test_float_wav() -> None:
    raw = wav_bytes(np.array([0.5, -0.25], dtype="<f4").tobytes(), tag=3, bits=32)
    layout = parse_header(raw, len(raw))
    assert layout is not None
    np.testing.assert_allclose(decode(raw[layout.data_offset :], layout)[0], [0.5, -0.25])


def test_chunks_before_data_are_skipped_with_padding() -> None:
    odd = b"LIST" + struct.pack("<I", 3) + b"abc\x00"  # odd size: one pad byte follows
    raw = wav_bytes(b"\x00\x01" * 4, extra_chunk=odd)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.data_size == 8


def test_an_unfinished_recording_runs_to_the_end_of_the_file() -> None:
    raw = wav_bytes(b"\x00\x01" * 800, declared=0)  # Asterisk fills the size in on close
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.declared_size is None and layout.data_size == 1600


def test_a_truncated_file_decodes_what_is_there_and_says_so() -> None:
    raw = wav_bytes(b"\x00\x01" * 800, declared=16000)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.truncated and layout.data_size == 1600
    assert layout.declared_seconds == pytest.approx(1.0)


def test_a_header_declaring_ten_hours_is_reported_as_such() -> None:
    ten_hours = 10 * 3600 * 8000 * 2
    raw = wav_bytes(b"", declared=ten_hours)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.declared_seconds == pytest.approx(36000)


def test_not_a_wav_is_none_and_a_broken_one_an_error() -> None:
    assert parse_header(b"ID3\x04\x00 mp3 data", 100) is None
    assert parse_header(b"", 0) is None
    data_first = b"RIFF" + struct.pack("<I", 12) + b"WAVE" + b"data" + struct.pack("<I", 0)
    with pytest.raises(AudioError, match="before its 'fmt ' chunk"):
        parse_header(data_first, len(data_first))
    with pytest.raises(AudioError, match="corrupt"):
        raw = wav_bytes(b"\x00\x00", rate=0)
        parse_header(raw, len(raw))


def test_gsm_in_wav_is_left_to_ffmpeg() -> None:
    raw = wav_bytes(b"\x00" * 65, tag=0x31, bits=0)
    layout = parse_header(raw, len(raw))
    assert layout is not None and layout.encoding == "other"
