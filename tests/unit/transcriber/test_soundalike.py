"""Misheard hot words rewritten by their sound, and nothing else rewritten.

The misheard forms are the bundled base model's own, from natural-voice report calls
(``bench/transcribe.py``); the sentences that must stay are ordinary Mandarin in which
a run of characters sounds like a hot word.
"""

from __future__ import annotations

import pytest

from transcriber.lexicon import HEARD_ZH, LEXICON_ZH
from transcriber.soundalike import Change, Soundalikes, for_words

ENTITIES = ("宏达机械厂", "绿源食品厂", "金盛纺织有限公司")


@pytest.fixture(scope="module")
def rewrite() -> Soundalikes:
    return for_words(ENTITIES + LEXICON_ZH)


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        # the lexicon, same tones
        ("我是厂里的快计，统计台账都被篡改了。", "我是厂里的会计，统计台账都被篡改了。"),
        ("他们一直持报，今年干脆不报了。", "他们一直迟报，今年干脆不报了。"),
        ("我的坐机是05386612345。", "我的座机是05386612345。"),
        # a tone slip, where the characters make no word
        ("他们满报职工人数。", "他们瞒报职工人数。"),
        ("在经济普查中满报职工人数。", "在经济普查中瞒报职工人数。"),  # not 中满报 as one
        ("他让快击把货款打到卡上。", "他让会计把货款打到卡上。"),
        # a name: the real word in it kept, the rest read exactly (红 hóng = 宏 hóng)
        ("我要举报红达机械厂虚报产值。", "我要举报宏达机械厂虚报产值。"),
        # another reading of a character (率: shuài, lǜ)
        ("我要反映率元食品厂的问题。", "我要反映绿源食品厂的问题。"),
        # a part of a longer name (金盛纺织有限公司: 金盛, 纺织)
        ("我举报今剩访值有限公司。", "我举报金盛纺织有限公司。"),
    ],
)
def test_a_misheard_hot_word_is_written_as_it_should_be(
    rewrite: Soundalikes, heard: str, written: str
) -> None:
    text, changes = rewrite.correct(heard)
    assert text == written
    assert changes and all(heard[c.start : c.start + len(c.heard)] == c.heard for c in changes)
    assert all(text[c.start : c.start + len(c.written)] == c.written for c in changes)


@pytest.mark.parametrize(
    "sentence",
    [
        "据报道，这家厂去年停产了。",  # 据报 inside 据报道
        "这个数据需报告给县里。",  # 需报 would cut 报告
        "公私财产要分清。",  # 公私 is a word, not a misheard 公司
        "这个手机好用吗？",  # 手机号 would cut 好用
        "我觉得这个手机好。",  # 好 here is hǎo; 号 is hào
        "我要举报。",  # 举报 is a hot word itself (beside 拒报)
        "他经常迟到。",  # one-character hot words (厂) are never used
        "请你快记一下。",  # 快记 is a word: not 会计
        "电话一五九一二三四五六七八。",  # digits being read out
        "我要举报宏达机械厂虚报产值。",  # already right
    ],
)
def test_what_is_not_a_misheard_hot_word_stays(rewrite: Soundalikes, sentence: str) -> None:
    assert rewrite.correct(sentence) == (sentence, ())


def test_without_hot_words_nothing_is_loaded_or_changed() -> None:
    empty = Soundalikes(())
    assert not empty
    assert empty.correct("我是厂里的快计。") == ("我是厂里的快计。", ())


def test_english_and_mixed_hot_words_are_left_out() -> None:
    rewrite = Soundalikes(("Baker Street", "ABC公司", "会计"))
    assert rewrite.correct("Baker Street 的快计。") == (
        "Baker Street 的会计。",
        (Change(start=14, heard="快计", written="会计"),),
    )


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("您好，这里是统计为法举报热线。", "您好，这里是统计违法举报热线。"),
        ("您好，这里是现统计局举报电话。", "您好，这里是县统计局举报电话。"),
    ],
)
def test_words_only_compared_with_are_written_too(heard: str, written: str) -> None:
    """``HEARD_ZH`` is not shown to the model; its words are written as they should be
    all the same (the model's own forms, from the bench's calls)."""
    assert for_words(LEXICON_ZH + HEARD_ZH).correct(heard)[0] == written
    assert for_words(LEXICON_ZH).correct(heard)[0] == heard


@pytest.mark.parametrize(
    ("heard", "written"),
    [
        ("报给统计局的是1个意。", "报给统计局的是1个亿。"),
        ("报给统计局的是一个意。", "报给统计局的是一个亿。"),
        ("虚报了三个义的产值。", "虚报了三个亿的产值。"),
        # words with 意 after 个 stay
        ("我们是一个意思。", "我们是一个意思。"),
        ("他提了三个意见。", "他提了三个意见。"),
        ("这个意外谁也没想到。", "这个意外谁也没想到。"),
        ("买了两个易拉罐。", "买了两个易拉罐。"),
    ],
)
def test_the_amount_after_a_number_is_written_yi_when_it_sounds_so(
    heard: str, written: str
) -> None:
    assert Soundalikes(("会计",)).correct(heard)[0] == written
