"""The guards against invented words, on the phrases Whisper really invents."""

from __future__ import annotations

from importlib import resources

import pytest

from transcriber.guards import (
    Guard,
    PhraseList,
    Verdict,
    bundled_phrases,
    collapse_loops,
    has_loop,
    is_hotword_echo,
    normalize,
    repeats_itself,
    strip_prompt_echo,
)
from transcriber.options import ZH_PROMPT


def test_the_phrase_list_ships_as_package_data() -> None:
    text = resources.files("transcriber").joinpath("data", "hallucinations.txt").read_text("utf-8")
    assert "amara.org" in text.lower()
    assert bundled_phrases().whole and bundled_phrases().anywhere


@pytest.mark.parametrize(
    "text",
    [
        "字幕由 Amara.org 社群提供",
        "字幕由Amara.org社群提供。",
        "請不吝點贊 訂閱 轉發 打賞支持明鏡與點點欄目",  # Traditional, as the model writes it
        "请不吝点赞 订阅",
        "Thank you for watching!",
        "Thanks for watching.",
        "谢谢观看",
        "you",
    ],
)
def test_known_hallucinations_are_caught(text: str) -> None:
    assert bundled_phrases().matches(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thank you.",  # how real calls end
        "谢谢。",
        "Please send someone soon. Thank you for your help.",
        "我们马上派人过去。",
        # a long real segment in which the model misheard "calling" as "watching"
        "Thank you for watching. Please tell me what you would like to report. Is anyone hurt?",
    ],
)
def test_real_speech_is_kept(text: str) -> None:
    assert not bundled_phrases().matches(text)


def test_phrase_list_format_is_checked() -> None:
    phrases = PhraseList.parse("# comment\n\n= Hello There\n~ foo.org\n")
    assert phrases.whole == frozenset({"hellothere"})
    assert phrases.matches("hello, there!") and phrases.matches("see foo.org")
    with pytest.raises(ValueError, match="line 1"):
        PhraseList.parse("hello\n")


def test_normalize_folds_script_case_and_punctuation() -> None:
    assert normalize("謝謝觀看！") == "谢谢观看"
    assert normalize("  Thank-you, FOR watching… ") == "thankyouforwatching"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("以下是普通话的句子。", ""),
        ("我要求 Paul 以下刚才是普通话的句子。", "我要求 Paul"),  # measured on base int8 + VAD
        ("以下是普通话的句子。我要举报。以下是普通话的句子", "我要举报。"),
        (
            "我家楼下的煤气管道破了，请快点派人来看看。",
            "我家楼下的煤气管道破了，请快点派人来看看。",
        ),
        ("以下是我要举报的事情：普通的问题。", "以下是我要举报的事情：普通的问题。"),
    ],
)
def test_prompt_echo_is_removed_and_speech_kept(text: str, expected: str) -> None:
    assert strip_prompt_echo(text, ZH_PROMPT) == expected


def test_hotword_echo() -> None:
    words = ["华信科技", "统计局", "工业产值"]
    assert is_hotword_echo("华信科技、统计局、工业产值", words)
    assert is_hotword_echo("华信科技, 统计局", words)
    assert not is_hotword_echo("华信科技", words)  # a caller may say just the name
    assert not is_hotword_echo("华信科技的工业产值是假的", words)
    assert not is_hotword_echo("anything", ["one"])
    # The lexicon is what callers say: two of its words are an answer, four a list.
    assert not is_hotword_echo("虚报产值。", ["虚报", "产值", "瞒报"], at_least=4)
    assert is_hotword_echo("虚报、瞒报、伪造、篡改", ["虚报", "瞒报", "伪造", "篡改"], at_least=4)


def test_repetition() -> None:
    assert repeats_itself("好的好的好的好的好的好的好的好的好的好的好的好的")
    assert repeats_itself("Thank you. " * 12)
    assert not repeats_itself("There is a broken gas pipe on Baker Street, near number twelve.")
    assert not repeats_itself("好的")


def test_loops_are_found_and_cut_to_one_copy() -> None:
    assert collapse_loops("我试试，我试，我试，我试，我试，") == "我试试，我试，"
    assert collapse_loops("我愁愁愁愁愁愁愁愁") == "我愁"
    assert has_loop("the pipe, the pipe, the pipe, the pipe, ok")
    for fine in ("好的好的", "哈哈哈", "Thank you. Thank you.", "1000000 dollars", "....."):
        assert not has_loop(fine) and collapse_loops(fine) == fine


GUARD = Guard(bundled_phrases())


def test_guard_verdicts_on_what_whisper_really_writes() -> None:
    sure = {"avg_logprob": -0.3, "no_speech_prob": 0.05}
    assert GUARD.check("  請您先離開房間,不要開燈 ", chinese=True, **sure) == Verdict(
        "请您先离开房间，不要开灯"
    )
    assert GUARD.check("以下是普通话的句子。", prompt=ZH_PROMPT, **sure).reason == "prompt-echo"
    echo = GUARD.check("我要求 Paul 以下刚才是普通话的句子。", prompt=ZH_PROMPT, **sure)
    assert echo.text == "我要求 Paul" and echo.reason is None and echo.notes
    assert GUARD.check("字幕由Amara.org社群提供", **sure).reason == "hallucination"
    assert (
        GUARD.check("华信科技、统计局", hotwords=["华信科技", "统计局"], **sure).reason
        == "hotword-echo"
    )
    lexicon = ["虚报", "瞒报", "伪造", "篡改", "产值"]
    assert GUARD.check("虚报产值。", lexicon=lexicon, **sure).reason is None
    assert GUARD.check("虚报、瞒报、伪造、篡改", lexicon=lexicon, **sure).reason == "hotword-echo"
    assert GUARD.check("...", **sure).reason == "empty"
    assert GUARD.check("Hello.", avg_logprob=-1.2, no_speech_prob=0.7).reason == "no-speech"
    assert GUARD.check("Hello.", avg_logprob=-0.2, no_speech_prob=0.9).reason == "no-speech"
    assert GUARD.check("Hello.", avg_logprob=-0.2, no_speech_prob=0.7).reason is None
    looped = GUARD.check("我绰绰绰绰绰绰绰绰绰", **sure)
    assert looped.text == "我绰" and looped.notes


def test_hotword_echo_takes_the_longest_word_first() -> None:
    # "计局" is inside "统计局": taken first, it would leave "统" and hide the echo.
    assert is_hotword_echo("统计局计局", ["计局", "统计局"])
