"""The guards against invented words, on the phrases Whisper really invents."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import transcriber
from transcriber.backends import without_copies
from transcriber.guards import (
    Guard,
    PhraseList,
    Verdict,
    bundled_phrases,
    collapse_loops,
    copied_hot_words,
    has_loop,
    is_hotword_echo,
    load_phrases,
    normalize,
    prompt_parts,
    repeats_a_hot_word,
    repeats_itself,
    strip_prompt_echo,
    without_words,
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
        ("我要求 Paul 以下刚才是普通话的句子。", "我要求 Paul。"),  # measured on base int8 + VAD
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
    assert echo.text == "我要求 Paul。" and echo.reason is None and echo.notes
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


# Each threshold below is pinned at its value, just over and just under, so that a
# guard moved by one character or one comparison shows.


def test_a_phrase_list_line_needs_both_a_known_kind_and_a_phrase() -> None:
    with pytest.raises(ValueError, match="line 2"):
        PhraseList.parse("= fine\n? unknown kind\n")
    with pytest.raises(ValueError, match="line 1"):
        PhraseList.parse("= !!!\n")  # nothing left once normalised


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        ("abcd wxy", True),  # 3 of 7 left over: under half
        ("abcd wxyz", True),  # 4 of 8: exactly half still condemns
        ("abcd vwxyz", False),  # 5 of 9: over half is speech
        ("vwxyz", False),  # the phrase is not there at all
    ],
)
def test_anywhere_phrases_condemn_a_segment_up_to_half_of_it_left(text: str, caught: bool) -> None:
    assert PhraseList.parse("~ abcd\n").matches(text) is caught


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The prompt is 10 characters; an echo must cover 6 of them (min_share 0.6).
        ("以下是普通话", ""),  # 6 of 10: an echo
        ("以下是普通", "以下是普通"),  # 5 of 10: kept
        ("我说普通话。", "我说普通话。"),  # 3 of 10, however dense: kept
        # The matched pieces must make up 0.7 of the stretch they span.
        ("以下是普xyz通话的", ""),  # 7 matched over 10: exactly 0.7, an echo
        ("以下是普wxyz通话的", "以下是普wxyz通话的"),  # 7 over 11: speech in between
        ("以下是我要举报一件事情普通话的问题", "以下是我要举报一件事情普通话的问题"),
    ],
)
def test_prompt_echo_thresholds(text: str, expected: str) -> None:
    assert strip_prompt_echo(text, ZH_PROMPT) == expected


def test_a_long_prompt_is_found_however_often_its_characters_recur() -> None:
    # From 200 characters on, difflib's "autojunk" would ignore characters that recur
    # (every one here does) and find no echo at all.
    prompt = "以下是普通话的句子" * 23  # one part: nothing to cut it at
    assert len(prompt) > 200
    assert strip_prompt_echo("我要举报。" + prompt, prompt) == "我要举报。"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Each clause of the prompt is an echo on its own, and so is the number in it.
        ("以下是普通话的句子，", ""),
        ("以下是普通话的句子", ""),
        ("我要举报。以下是普通话的句子", "我要举报。"),
        ("以下是普通话的句子，号码零幺二三四五六七八九。我要举报。", "号码。我要举报。"),
        ("零幺二三四五六七八九。我要举报。", "我要举报。"),
        # The digits shown, written back in Chinese or Arabic digits, grouped or not.
        ("零幺二三四五六七八九。", ""),
        ("零一二三四五六七八九", ""),
        ("我的电话是0123456789。", "我的电话是。"),
        ("0123 4567 89", ""),
        ("０１２３４５６７８９", ""),
        # A caller's number holding a piece of them is the caller's number, and 号码
        # (too short to be looked for alone) is what callers say.
        ("我的手机号是15912345678。", "我的手机号是15912345678。"),
        ("卡号是6222 0212 3456 7890 128", "卡号是6222 0212 3456 7890 128"),
        ("01234567890", "01234567890"),
        ("一二三四五六七八九", "一二三四五六七八九"),
        ("请提供一下您的身份证号码。", "请提供一下您的身份证号码。"),
        # Latin words either side of a cut keep their space.
        ("I said 以下是普通话的句子 hello", "I said hello"),
    ],
)
def test_every_part_of_the_mandarin_prompt_is_an_echo(text: str, expected: str) -> None:
    assert strip_prompt_echo(text, ZH_PROMPT) == expected


def test_a_prompt_is_cut_into_its_clauses_and_numbers() -> None:
    assert prompt_parts(ZH_PROMPT) == ("以下是普通话的句子，", "零幺二三四五六七八九。")
    assert prompt_parts("以下是普通话的句子。号码一个数字一个数字地读：零幺二三四五六七八九。") == (
        "以下是普通话的句子。",
        "号码一个数字一个数字地读：",
        "零幺二三四五六七八九。",
    )
    assert prompt_parts("  ") == ()


def test_an_empty_segment_is_no_hotword_echo() -> None:
    assert not is_hotword_echo("。。。", ["华信科技", "统计局"])


REPEATED = "There is a fire on the street. " * 4  # no loop: the piece is over 16 characters


def test_repetition_thresholds() -> None:
    ratio = len(REPEATED.encode()) / len(zlib.compress(REPEATED.encode()))
    assert 2.4 < ratio < 3.4 and not has_loop(REPEATED)
    assert repeats_itself(REPEATED)  # the default ratio is 2.4
    assert repeats_itself(REPEATED, max_ratio=ratio - 0.01)
    assert not repeats_itself(REPEATED, max_ratio=ratio)  # strictly over the ratio
    # Under 24 bytes nothing counts as repetition, however well it compresses.
    assert repeats_itself("a" * 24, max_ratio=1.0)
    assert not repeats_itself("a" * 23, max_ratio=1.0)


SURE = {"avg_logprob": -0.3, "no_speech_prob": 0.05}


def test_traditional_chinese_is_simplified_without_being_told() -> None:
    assert GUARD.check("請您先離開房間,不要開燈", **SURE) == Verdict("请您先离开房间，不要开灯")


@pytest.mark.parametrize(
    ("text", "kwargs", "verdict"),
    [
        (
            "以下是普通话的句子。",
            {"prompt": ZH_PROMPT},
            Verdict("以下是普通话的句子。", "prompt-echo"),
        ),
        ("...", {}, Verdict("...", "empty")),
        ("字幕由Amara.org社群提供", {}, Verdict("字幕由Amara.org社群提供", "hallucination")),
        (
            "华信科技、统计局",
            {"hotwords": ["华信科技", "统计局"]},
            Verdict("华信科技、统计局", "hotword-echo"),
        ),
        (REPEATED, {}, Verdict(REPEATED.strip(), "repetition")),
    ],
)
def test_a_dropped_segment_keeps_its_text_and_says_why(
    text: str, kwargs: dict[str, Any], verdict: Verdict
) -> None:
    assert GUARD.check(text, **SURE, **kwargs) == verdict


def test_a_kept_segment_notes_what_was_cut() -> None:
    echo = GUARD.check("我要求 Paul 以下刚才是普通话的句子。", prompt=ZH_PROMPT, **SURE)
    assert echo == Verdict(
        "我要求 Paul。", None, ("prompt echo removed from '我要求 Paul 以下刚才是普通话的句子。'",)
    )
    looped = GUARD.check("我绰绰绰绰绰绰绰绰绰", **SURE)
    assert looped == Verdict("我绰", None, ("loop collapsed in '我绰绰绰绰绰绰绰绰绰'",))


@pytest.mark.parametrize(
    ("avg_logprob", "no_speech_prob", "reason"),
    [
        (-0.2, 0.85, None),  # at the certain-no-speech line: kept
        (-0.2, 0.86, "no-speech"),
        (-1.2, 0.6, None),  # at the no-speech threshold: kept, however unsure
        (-1.2, 0.61, "no-speech"),
        (-1.0, 0.7, None),  # at the log-probability threshold: kept
        (-1.01, 0.7, "no-speech"),
    ],
)
def test_no_speech_thresholds(
    avg_logprob: float, no_speech_prob: float, reason: str | None
) -> None:
    verdict = GUARD.check("Hello.", avg_logprob=avg_logprob, no_speech_prob=no_speech_prob)
    assert verdict == Verdict("Hello.", reason)


def test_the_guard_uses_its_own_compression_ratio() -> None:
    assert (
        Guard(bundled_phrases(), max_compression_ratio=3.4).check(REPEATED, **SURE).reason is None
    )


def test_a_phrase_list_is_loaded_from_its_file_or_is_the_bundled_one(tmp_path: Path) -> None:
    assert load_phrases(None) is bundled_phrases()
    listed = tmp_path / "phrases.txt"
    listed.write_text("# ours\n= 谢谢收听\n~ example.org\n", encoding="utf-8")
    phrases = load_phrases(listed)
    assert phrases == PhraseList(frozenset({"谢谢收听"}), ("example.org",))
    assert load_phrases(str(listed)) == phrases


def test_a_phrase_list_is_read_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    listed = tmp_path / "phrases.txt"
    listed.write_text("= 谢谢收听\n", encoding="utf-8")
    assert load_phrases(listed).whole == {"谢谢收听"}  # here, under a UTF-8 locale
    # An ASCII locale, without Python's UTF-8 mode or its locale coercion.
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    # The same copy of the package as this test imported, wherever that is.
    env["PYTHONPATH"] = str(Path(transcriber.__file__).parent.parent)
    script = (
        "import locale, sys; from transcriber.guards import load_phrases; "
        "assert locale.getencoding().lower() != 'utf-8', locale.getencoding(); "
        "sys.stdout.buffer.write(','.join(load_phrases(sys.argv[1]).whole).encode())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(listed)], env=env, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert done.stdout.decode() == "谢谢收听"


HOT = ("宏达机械厂", "虚报", "瞒报", "统计局", "统计报表", "统计执法", "举报", "会计")


@pytest.mark.parametrize(
    "text",
    [
        "卡号16号、20号、12号、许多少统计执法、统计执法",  # copied twice
        "卡号16号、20号、12号、许多少统计执法、统计执",  # begun again
        "會計、會計",  # in Traditional characters, as the model may write them
        "宏达机械厂，宏达机械",
        "统计执法统计执法",  # copied as the model is shown them, nothing between
    ],
)
def test_a_hot_word_said_again_at_once_is_copying(text: str) -> None:
    assert repeats_a_hot_word(text, HOT)


@pytest.mark.parametrize(
    "text",
    [
        "他们虚报、瞒报，统计报表都是假的。",  # a list of different hot words is speech
        "统计局、统计报表",  # two hot words that begin alike
        "我要举报宏达机械厂虚报产值，向统计局举报。",  # the same word twice, apart
    ],
)
def test_hot_words_in_speech_are_not_copying(text: str) -> None:
    assert not repeats_a_hot_word(text, HOT)
    assert not repeats_a_hot_word("统计执法、统计执法", ())


def test_the_words_copied_are_named_and_can_be_left_out() -> None:
    text = "卡号16号、许多少统计执法、统计执法，会计、会计"
    assert copied_hot_words(text, HOT) == ["统计执法", "会计"]
    assert without_words(HOT, ["统计执法", "会计"]) == (
        "宏达机械厂",
        "虚报",
        "瞒报",
        "统计局",
        "统计报表",
        "举报",
    )
    assert without_words(("Baker Street", "gas pipe"), ["gas pipe"]) == ("Baker Street",)
    assert without_words(("会计",), ["会计"]) == ()


def test_a_window_that_copies_is_decoded_without_those_words_then_without_any() -> None:
    # What a model wrote for one window, by the hot words it was given (both backends
    # give without_copies their own decoding; this one answers from a table).
    heard = {
        HOT: ["卡号16号、许多少统计执法、统计执法"],
        without_words(HOT, ["统计执法"]): ["卡号会计、会计"],
        (): ["卡号6222 0212 3456 7890 128"],
    }
    asked: list[tuple[str, ...]] = []

    def decode(words: tuple[str, ...]) -> list[str]:
        asked.append(words)
        return heard[words]

    result = without_copies(heard[HOT], HOT, decode, str, 12.0)
    assert result == ["卡号6222 0212 3456 7890 128"]
    assert asked == [without_words(HOT, ["统计执法"]), ()]
    # Speech that copies nothing is kept as decoded, and so is a window with no hot words.
    asked.clear()
    assert without_copies(["我要举报宏达机械厂虚报产值。"], HOT, decode, str, 0.0) == [
        "我要举报宏达机械厂虚报产值。"
    ]
    assert without_copies(["统计执法、统计执法"], (), decode, str, 0.0) == ["统计执法、统计执法"]
    assert asked == []
    # Dropping the copied words is enough when the window then hears the speech.
    heard[without_words(HOT, ["统计执法"])] = ["卡号6222 0212 3456 7890 128"]
    assert without_copies(heard[HOT], HOT, decode, str, 0.0) == ["卡号6222 0212 3456 7890 128"]
    assert asked == [without_words(HOT, ["统计执法"])]
