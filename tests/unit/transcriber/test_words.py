"""Timed words re-cut to the text a reader sees: cleaned by the guards, or corrected."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from transcriber.result import Segment, Word
from transcriber.words import fit, gaps


def test_traditional_words_become_the_simplified_text_with_their_times() -> None:
    words = [Word(0.0, 0.5, "我們", 0.9), Word(0.5, 1.0, "馬上", 0.8), Word(1.1, 1.4, "過去,", 0.7)]
    assert fit(words, "我们马上过去，") == (
        Word(0.0, 0.5, "我们", 0.9),
        Word(0.5, 1.0, "马上", 0.8),
        Word(1.1, 1.4, "过去，", 0.7),
    )


def test_an_english_segment_loses_only_its_leading_space() -> None:
    words = [Word(0.0, 0.4, " Hello", 0.99), Word(0.5, 0.9, " world.", 0.98)]
    fitted = fit(words, "Hello world.")
    assert [w.word for w in fitted] == ["Hello", " world."]
    assert [(w.start, w.end) for w in fitted] == [(0.0, 0.4), (0.5, 0.9)]


def test_words_of_a_removed_prompt_echo_are_gone() -> None:
    words = [
        Word(0.0, 0.3, "以下是", 0.5),
        Word(0.3, 0.6, "普通话的句子。", 0.5),
        Word(1.0, 1.4, "我要", 0.9),
        Word(1.4, 1.9, "举报。", 0.9),
    ]
    assert fit(words, "我要举报。") == (Word(1.0, 1.4, "我要", 0.9), Word(1.4, 1.9, "举报。", 0.9))


def test_digits_written_as_digits_keep_the_time_they_were_spoken() -> None:
    words = [
        Word(2.0, 2.5, "电话", 0.9),
        Word(2.5, 3.0, "一三八", 0.8),
        Word(3.0, 3.6, "零零一三", 0.7),
        Word(3.6, 4.0, "八零零零", 0.9),
    ]
    fitted = fit(words, "电话138 0013 8000")
    assert "".join(w.word for w in fitted) == "电话138 0013 8000"
    assert fitted[0] == Word(2.0, 2.5, "电话", 0.9)
    assert fitted[1].start == 2.5 and fitted[-1].end == 4.0
    assert [w.start for w in fitted] == sorted(w.start for w in fitted)


def test_a_correction_keeps_times_and_drops_the_probability_of_what_changed() -> None:
    words = [Word(0.0, 0.4, "需报", 0.6), Word(0.4, 0.9, "产值", 0.95), Word(0.9, 1.2, "。", 0.9)]
    fitted = fit(words, "虚报产值，数额很大。", edited=True)
    assert "".join(w.word for w in fitted) == "虚报产值，数额很大。"
    assert fitted == (
        Word(0.0, 0.4, "虚报", None),
        Word(0.4, 0.9, "产值，数额很大", None),  # added text joins the word before it
        Word(0.9, 1.2, "。", 0.9),
    )
    assert fit(words, "需报产值。", edited=True) == tuple(words)


def test_nothing_to_fit() -> None:
    assert fit([], "文字") == ()
    assert fit([Word(0.0, 1.0, "好", 0.9)], "") == ()


def test_a_segment_serialises_its_words_as_the_stored_json() -> None:
    seg = Segment(0.0, 1.0, "好的", words=(Word(0.0, 0.4, "好", 0.9), Word(0.4, 1.0, "的", None)))
    assert seg.to_dict()["words"] == [
        {"start": 0.0, "end": 0.4, "word": "好", "probability": 0.9},
        {"start": 0.4, "end": 1.0, "word": "的", "probability": None},
    ]
    assert [Word.from_dict(w) for w in seg.to_dict()["words"]] == list(seg.words)


_pieces = st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=8)


@given(_pieces, st.text(max_size=30))
def test_fitted_words_always_spell_the_text_in_time_order(pieces: list[str], text: str) -> None:
    words = [Word(float(i), i + 0.5, p, 0.5) for i, p in enumerate(pieces)]
    fitted = fit(words, text)
    assert "".join(w.word for w in fitted) == text
    starts = [w.start for w in fitted]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # each word once
    assert {(w.start, w.end) for w in fitted} <= {(w.start, w.end) for w in words}


def test_word_edges_move_off_silence() -> None:
    import numpy as np

    from transcriber.words import on_sound

    rate = 16000
    audio = np.zeros(rate * 3, dtype=np.float32)
    audio[int(1.3 * rate) : int(2.2 * rate)] = 0.1  # sound from 1.3 s to 2.2 s
    words = [Word(1.0, 1.6, "你好", 0.9), Word(1.6, 2.5, "我要", 0.8), Word(2.5, 2.9, "。")]
    assert on_sound(words, audio, rate) == (
        Word(1.3, 1.6, "你好", 0.9),  # began in the pause: moved to the sound
        Word(1.6, 2.2, "我要", 0.8),  # ran on into silence: cut where the sound ends
        Word(2.5, 2.9, "。"),  # nothing to hear: kept as it was
    )


def test_gaps_are_the_stretches_no_word_covers() -> None:
    spans = [(0.5, 1.0), (1.2, 2.0), (6.0, 7.0), (6.5, 9.0)]  # the last two overlap
    assert gaps(spans, 12.0, longer_than=2.0) == [(2.0, 6.0), (9.0, 12.0)]
    assert gaps(spans, 12.0, longer_than=0.4) == [(0.0, 0.5), (2.0, 6.0), (9.0, 12.0)]
    assert gaps(sorted(spans, reverse=True), 9.5, longer_than=2.0) == [(2.0, 6.0)]
    assert gaps([], 3.0, longer_than=2.0) == [(0.0, 3.0)]
    assert gaps([], 3.0, longer_than=3.0) == []
