"""The G.711 codec against the written-out ITU-T tables (tests/support/g711_reference.py),
for every code and every 16-bit sample: no other implementation needed, never skipped."""

from __future__ import annotations

import numpy as np
import pytest

import transcriber.g711 as codec
from hotline.rtp import g711
from tests.support import g711_reference as ref

EVERY_CODE = bytes(range(256))
EVERY_SAMPLE = np.arange(-32768, 32768, dtype=np.int16)
LAWS = [("PCMU", "ulaw"), ("PCMA", "alaw")]


@pytest.mark.parametrize(("name", "law"), LAWS)
def test_every_code_decodes_to_the_g711_table(name: str, law: codec.Law) -> None:
    expected = list(ref.DECODE[law])
    assert [int(v) for v in codec.decode(EVERY_CODE, law)] == expected
    assert [int(v) for v in g711.decode(EVERY_CODE, name)] == expected
    # The byte tables the RTP path decodes with: low and high byte of the same values.
    pcm = bytes(
        b
        for pair in zip(
            EVERY_CODE.translate(g711.LOW_BYTES[name]),
            EVERY_CODE.translate(g711.HIGH_BYTES[name]),
            strict=True,
        )
        for b in pair
    )
    assert list(np.frombuffer(pcm, dtype="<i2")) == expected


def test_the_tables_spot_values() -> None:
    # The extremes and zeros of G.711 tables 1 and 2, as 16-bit samples.
    ulaw = dict(zip(EVERY_CODE, codec.decode(EVERY_CODE, "ulaw"), strict=True))
    alaw = dict(zip(EVERY_CODE, codec.decode(EVERY_CODE, "alaw"), strict=True))
    assert (ulaw[0x00], ulaw[0x80], ulaw[0xFF], ulaw[0x7F], ulaw[0x7E]) == (-32124, 32124, 0, 0, -8)
    assert (alaw[0x55], alaw[0xD5], alaw[0x2A], alaw[0xAA]) == (-8, 8, -32256, 32256)


@pytest.mark.parametrize(("name", "law"), LAWS)
def test_every_sample_encodes_by_the_g711_decision_values(name: str, law: codec.Law) -> None:
    expected = ref.encode(EVERY_SAMPLE, law)
    assert len(set(expected)) == len(ref.ENCODE_STARTS[law])
    assert codec.encode(EVERY_SAMPLE, law) == expected
    assert g711.encode(EVERY_SAMPLE, name) == expected
    # Each decision value by itself: the sample before it still gets the lower code.
    for (start, code), (_, before) in zip(
        ref.ENCODE_STARTS[law][1:], ref.ENCODE_STARTS[law], strict=False
    ):
        pair = np.array([start - 1, start], dtype=np.int16)
        assert codec.encode(pair, law) == bytes([before, code]), (law, start)


def test_silence_and_transcoding_follow_the_tables() -> None:
    assert g711.SILENCE == {"PCMU": 0xFF, "PCMA": 0xD5}
    for a, law_a in LAWS:
        for b, law_b in LAWS:
            through = ref.encode(np.array(ref.DECODE[law_a]), law_b)
            assert g711.TRANSCODE[(a, b)] == through, (a, b)
