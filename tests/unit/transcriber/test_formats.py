"""Subtitles and JSON from a transcript."""

from __future__ import annotations

import json

from transcriber.formats import timestamp, to_json, to_srt, to_text, to_vtt
from transcriber.result import Dropped, Segment, Transcript, Word, join_texts

CALL = Transcript(
    language="en",
    duration=12.5,
    model="faster-whisper:bundled-base:int8",
    segments=(
        Segment(0.0, 2.04, "Hotline, good afternoon.", "operator", -0.2, 0.01),
        Segment(2.5, 3661.0015, "I smell gas <here> & there.", "caller", -0.3, 0.02),
        Segment(
            3661.5,
            3662.0,
            "Thank you.",
            "caller",
            -0.1,
            0.0,
            words=(Word(3661.5, 3661.7, "Thank", 0.97), Word(3661.7, 3662.0, " you.", 0.99)),
        ),
    ),
    dropped=(Dropped(5.0, 6.0, "Thank you for watching.", "hallucination", "caller"),),
)


def test_timestamps() -> None:
    assert timestamp(0) == "00:00:00.000"
    assert timestamp(3661.0015, separator=",") == "01:01:01,002"
    assert timestamp(-0.1) == "00:00:00.000"


def test_srt() -> None:
    assert to_srt(CALL) == (
        "1\n00:00:00,000 --> 00:00:02,040\n[operator] Hotline, good afternoon.\n\n"
        "2\n00:00:02,500 --> 01:01:01,002\n[caller] I smell gas <here> & there.\n\n"
        "3\n01:01:01,500 --> 01:01:02,000\n[caller] Thank you.\n"
    )


def test_vtt_escapes_and_names_voices() -> None:
    vtt = to_vtt(CALL)
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.040\n<v operator>Hotline")
    assert "<v caller>I smell gas &lt;here&gt; &amp; there." in vtt


def test_json_round_trips_with_everything_a_handler_needs() -> None:
    data = json.loads(to_json(CALL))
    assert data["text"] == "Hotline, good afternoon. I smell gas <here> & there. Thank you."
    assert data["segments"][1] == {
        "start": 2.5,
        "end": 3661.0015,
        "text": "I smell gas <here> & there.",
        "speaker": "caller",
        "avg_logprob": -0.3,
        "no_speech_prob": 0.02,
        "compression_ratio": None,
        "words": [],
        "numbers": [],
    }
    assert data["segments"][2]["words"] == [
        {"start": 3661.5, "end": 3661.7, "word": "Thank", "probability": 0.97},
        {"start": 3661.7, "end": 3662.0, "word": " you.", "probability": 0.99},
    ]
    assert data["dropped"][0]["reason"] == "hallucination"


def test_dialogue_groups_turns() -> None:
    assert to_text(CALL) == (
        "operator: Hotline, good afternoon.\ncaller: I smell gas <here> & there. Thank you.\n"
    )


def test_chinese_joins_without_spaces_and_mixed_text_with_them() -> None:
    assert (
        join_texts(["你好，", "我要举报。", "Baker Street", "很危险。"])
        == "你好，我要举报。 Baker Street 很危险。"
    )
    zh = Transcript("zh", 2.0, "m", (Segment(0, 1, "您好。"), Segment(1, 2, "请讲。")))
    assert zh.text == "您好。请讲。" and zh.dialogue == zh.text
