"""The natural test speech helper: the format a PBX writes, the pause layout it promises,
and a cache that makes each text once."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.support import kokoro
from tests.support.kokoro import mandarin_call, spoken_digits

pytestmark = pytest.mark.slow

TURNS = [("operator", "您好，这里是统计执法举报热线。"), ("caller", "我要举报一家公司。")]
VOICES = {"operator": "zf_xiaoyi", "caller": "zm_yunxi"}


def test_digits_are_written_to_be_read_one_by_one() -> None:
    assert spoken_digits("138 0013-8000") == "一三八零零一三八零零零"
    assert spoken_digits("41010519880315201X") == "四一零一零五一九八八零三一五二零一X"


def test_a_call_is_8k_mulaw_with_the_promised_silences() -> None:
    path = mandarin_call(TURNS, voices=VOICES, gap=1.2, edge=0.5)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "ULAW")
    audio, rate = sf.read(path, dtype="float32")
    loud = np.flatnonzero(np.abs(audio) > 0.01) / rate
    assert 0.45 <= loud[0] <= 0.8 and info.duration - 0.8 <= loud[-1] <= info.duration - 0.45
    # exactly one silence of the gap's length inside the call, between the two turns
    gaps = np.diff(loud)
    assert [round(float(g), 1) for g in gaps if g > 0.9] == [pytest.approx(1.2, abs=0.25)]


def test_stereo_puts_each_speaker_on_their_own_channel() -> None:
    path = mandarin_call(TURNS, voices=VOICES, stereo=("caller", "operator"))
    audio, _rate = sf.read(path, dtype="float32")
    assert audio.shape[1] == 2
    caller, operator = (np.abs(audio[:, i]) > 0.01 for i in (0, 1))
    assert np.flatnonzero(operator)[0] < np.flatnonzero(caller)[0]  # the operator speaks first
    assert np.flatnonzero(operator)[-1] < np.flatnonzero(caller)[0]  # and stops before


def test_the_same_script_is_made_once() -> None:
    first = mandarin_call("缓存测试。", voice="zm_yunjian")
    made = first.stat().st_mtime_ns
    again = mandarin_call("缓存测试。", voice="zm_yunjian")
    assert again == first and again.stat().st_mtime_ns == made  # not written again
    assert first.parent == kokoro.cache_root() / "speech"
    assert mandarin_call("缓存测试。", voice="zf_xiaobei") != first  # another voice, another file
