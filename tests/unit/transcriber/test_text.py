"""Chinese output form, sentence splitting, merging by time, error rates."""

from __future__ import annotations

import pytest

from transcriber.backends import split_sentences
from transcriber.chinese import fullwidth_punctuation, has_cjk, simplified_chinese, to_simplified
from transcriber.merge import merge_by_time
from transcriber.metrics import cer, english_words, wer
from transcriber.result import Segment, Word


def test_traditional_becomes_simplified() -> None:
    assert to_simplified("我們馬上派人過去。請您先離開房間") == "我们马上派人过去。请您先离开房间"
    assert to_simplified("Baker Street 12") == "Baker Street 12"


def test_punctuation_after_chinese_is_full_width() -> None:
    assert fullwidth_punctuation("破了,请快点来.好吗?") == "破了，请快点来。好吗？"
    assert fullwidth_punctuation("产值 3.5 亿, Amara.org") == "产值 3.5 亿，Amara.org"
    assert simplified_chinese("煤氣管道破了,") == "煤气管道破了，"
    assert has_cjk("a中b") and not has_cjk("abc")


def test_no_space_between_chinese_characters() -> None:
    assert simplified_chinese("個媒體 衛套額,  統計局 。好") == "个媒体卫套额，统计局。好"
    # Next to Latin text or digits a space is how mixed text is set: it stays.
    assert simplified_chinese("我叫 Lisa 电话 138 1234") == "我叫 Lisa 电话 138 1234"


def test_sentences_split_at_full_stops_and_pauses() -> None:
    words = [
        Word(0.0, 0.4, " Hotline,"),
        Word(0.5, 1.4, " good afternoon."),
        Word(2.0, 2.3, " Thank"),
        Word(2.3, 2.6, " you"),
        Word(5.0, 5.5, " Hello"),  # 2.4 s pause: the other party spoke
        Word(5.6, 6.0, "你"),
        Word(6.0, 6.2, "好。"),
    ]
    assert split_sentences(words) == [tuple(words[:2]), tuple(words[2:4]), tuple(words[4:])]
    assert split_sentences([]) == []


def test_merge_interleaves_speakers_by_time() -> None:
    caller = [Segment(1.0, 2.0, "c1", "caller"), Segment(5.0, 6.0, "c2", "caller")]
    operator = [
        Segment(0.0, 0.9, "o1", "operator"),
        Segment(3.0, 4.0, "o2", "operator"),
        Segment(5.0, 5.5, "o3", "operator"),
    ]
    merged = merge_by_time([caller, operator])
    assert [s.text for s in merged] == ["o1", "c1", "o2", "o3", "c2"]
    assert merge_by_time([]) == ()


def test_error_rates() -> None:
    assert english_words("Near number 12, Mr. Smith's flat") == [
        "near",
        "number",
        "twelve",
        "mister",
        "smiths",
        "flat",
    ]
    assert wer("There is a broken gas pipe", "there is a broken glass pipe") == pytest.approx(1 / 6)
    assert wer("a b", "") == 1.0
    assert cer("我们马上派人过去。", "我們馬上派人過去") == 0.0
    assert cer("煤气管道", "煤气道") == pytest.approx(1 / 4)
