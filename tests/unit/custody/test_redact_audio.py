"""The recording copy without a database: the original's format and bytes outside the
bleeps, a 1 kHz tone inside, the copy number in LIST/INFO, a window cut; word timings
found for redacted characters, or the whole segment when there are none."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np

from hotline.custody.redact_audio import Span, read_header, write_copy
from hotline.custody.redact_text import Context, Kind
from hotline.custody.redaction import PAD_SECONDS, redact_segments
from hotline.rtp import g711


def _wav(samples: np.ndarray, channels: int, codec: str) -> bytes:
    rate = 8000
    if codec == "pcm_s16le":
        data, tag, bits = samples.astype("<i2").tobytes(), 1, 16
    else:
        data, tag, bits = g711.encode(samples.astype(np.int16), g711.PCMU), 7, 8
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def _peak(samples: np.ndarray, rate: int = 8000) -> float:
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(np.abs(np.fft.rfft(samples)))])


def test_pcm_stereo_bleeped_in_place_with_its_number_inside() -> None:
    rng = np.random.default_rng(1)
    original = (rng.standard_normal(8000 * 3 * 2) * 3000).astype(np.int16)
    raw = _wav(original, 2, "pcm_s16le")
    src = io.BytesIO(raw)
    header = read_header(src, "pcm_s16le", 44, len(raw) - 44)
    out = io.BytesIO()
    facts = write_copy(
        src, header, out, info=[(b"INAM", "HL-2026-000001-C01")], spans=[Span(1.0, 1.5)]
    )
    copy = out.getvalue()
    assert b"LIST" in copy and b"HL-2026-000001-C01\0" in copy and facts.size == len(copy)
    with wave.open(io.BytesIO(copy)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    want = original.reshape(-1, 2)
    assert np.array_equal(got[:8000], want[:8000]) and np.array_equal(got[12000:], want[12000:])
    assert _peak(got[8000:12000, 0].astype(float)) == 1000 and np.array_equal(
        got[8000:12000, 0], got[8000:12000, 1]
    )


def test_mulaw_keeps_its_codes_and_a_window_cuts_the_copy() -> None:
    rng = np.random.default_rng(2)
    original = (rng.standard_normal(8000 * 4) * 3000).astype(np.int16)
    raw = _wav(original, 1, "pcm_mulaw")
    src = io.BytesIO(raw)
    header = read_header(src, "pcm_mulaw", 44, len(raw) - 44)
    out = io.BytesIO()
    facts = write_copy(src, header, out, info=[], spans=[Span(2.5, 3.0)], window=(2.0, 3.5))
    copy = out.getvalue()
    data = copy[copy.index(b"data") + 8 :]
    codes = raw[44:]
    assert facts.frames == 12000 and facts.offset == 2.0 and len(data) == 12000
    assert data[:4000] == codes[16000:20000] and data[8000:] == codes[24000:28000]
    assert _peak(g711.decode(data[4000:8000], g711.PCMU).astype(float)) == 1000
    assert facts.bleeped == (Span(0.5, 1.0),)


def test_word_timings_cover_the_redacted_characters() -> None:
    segments = [
        {
            "start": 10.0,
            "end": 14.0,
            "text": "我的电话是159 1234 5678，谢谢。",
            "words": [
                {"start": 10.0, "end": 10.6, "word": "我的"},
                {"start": 10.6, "end": 11.0, "word": "电话是"},
                {"start": 11.0, "end": 11.6, "word": "1591"},
                {"start": 11.6, "end": 12.4, "word": "2345678"},  # spaced differently
                {"start": 12.4, "end": 13.0, "word": "，谢谢。"},
            ],
        },
        {"start": 20.0, "end": 22.0, "text": "身份证11010519491231002X"},  # no word timings
    ]
    result = redact_segments(segments, Context())
    assert [s["text"] for s in result.segments] == [
        "我的电话是［手机号码］，谢谢。",
        "身份证［居民身份证号码］",
    ]
    (_, phone), (_, whole) = result.spans
    assert (phone.start, phone.end) == (11.0 - PAD_SECONDS, 12.4 + PAD_SECONDS)
    assert (whole.start, whole.end) == (20.0 - PAD_SECONDS, 22.0 + PAD_SECONDS)
    assert all("words" not in s for s in result.segments)


def test_a_number_the_caller_paused_inside_is_bleeped_in_both_segments() -> None:
    """The model cut a mobile number read in groups over two segments (``159 1234，``
    then ``5678。``): neither part alone is seven digits long enough to look personal,
    and the second would be heard in the copy."""
    segments = [
        {
            "start": 3.0,
            "end": 6.0,
            "text": "我的手机号是159 1234，",
            "speaker": "caller",
            "words": [
                {"start": 3.0, "end": 4.4, "word": "我的手机号是"},
                {"start": 4.4, "end": 5.2, "word": "159"},
                {"start": 5.2, "end": 6.0, "word": " 1234，"},
            ],
        },
        {
            "start": 6.8,
            "end": 7.9,
            "text": "5678。",
            "speaker": "caller",
            "words": [{"start": 6.8, "end": 7.9, "word": "5678。"}],
        },
        # Another speaker, or a pause of more than two seconds: digits that only meet.
        {"start": 8.0, "end": 9.0, "text": "去年报了3000，", "speaker": "caller"},
        {"start": 9.2, "end": 10.0, "text": "1200万。", "speaker": "caller"},
        {"start": 12.0, "end": 13.0, "text": "号码是159 1234，", "speaker": "caller"},
        {"start": 13.1, "end": 14.0, "text": "5678", "speaker": "operator"},
        {"start": 15.0, "end": 16.0, "text": "电话159 1234，", "recording_id": 1},
        {"start": 16.1, "end": 17.0, "text": "5678", "recording_id": 2},  # another recording
    ]
    result = redact_segments(segments, Context(contacts=("15912345678",)))
    assert [s["text"] for s in result.segments] == [
        "我的手机号是［举报人联系方式］，",
        "［举报人联系方式］。",
        "去年报了3000，",
        "1200万。",
        "号码是［数字］，",
        "5678",
        "电话［数字］，",
        "5678",
    ]
    assert [(k, s.start, s.end) for k, s in result.spans][:2] == [
        (Kind.REPORTER_CONTACT, 4.4 - PAD_SECONDS, 6.0 + PAD_SECONDS),
        (Kind.REPORTER_CONTACT, 6.8 - PAD_SECONDS, 7.9 + PAD_SECONDS),
    ]
