"""Mandarin report calls as the hotline gets them, spoken by natural voices.

Each call is a script of ``(speaker, text)`` turns about a statistics-law violation,
with the names, addresses and numbers such calls are made of. Numbers read digit by
digit are written ``{15912345678}`` in the script: the voice reads them in Chinese
digits in one breath (``spoken``; ``spoken_grouped`` reads them in the groups people
often use, a pause between: measured, base hears no more digits that way); the
reference a transcript is scored against has them as Arabic digits (``written``), as
the transcriber writes them.

``call(name, caller="zm_yunjian", operator="zf_xiaoyi")`` gives the 8 kHz µ-law
recording (cached, see ``tests.support.kokoro``); ``reference(name)`` its text.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.kokoro import mandarin_call, spoken_digits

Script = Sequence[tuple[str, str]]

CALLS: dict[str, Script] = {
    # 虚报产值: a mobile number, an address with a county and a town.
    "hongda": (
        ("operator", "您好，这里是统计违法举报热线，请问您要反映什么问题？"),
        ("caller", "你好，我要举报宏达机械厂虚报产值。"),
        ("operator", "这个厂在什么地方？"),
        ("caller", "在新乡县七里营镇工业路十八号。"),
        ("caller", "他们去年的产值实际只有三千万，报给统计局的是一个亿。"),
        ("operator", "您是怎么知道的？"),
        ("caller", "我是厂里的会计，统计台账和原始记录都被篡改了。"),
        ("operator", "请留一个联系电话。"),
        ("caller", "我的手机号是{15912345678}。"),
        ("operator", "好的，我们会转给统计执法部门处理。"),
    ),
    # 瞒报 in the economic census: a person's name and a resident ID number.
    "jinsheng": (
        ("operator", "您好，统计举报热线，请讲。"),
        ("caller", "我举报金盛纺织有限公司在经济普查中瞒报职工人数。"),
        ("caller", "公司实际有三百多人，普查表上只填了八十个人。"),
        ("operator", "公司的负责人是谁？"),
        ("caller", "负责人叫王建国，他让我们伪造了工资表。"),
        ("operator", "请提供一下您的身份证号码。"),
        ("caller", "我的身份证号是{410105198803152017}。"),
        ("operator", "谢谢，您的信息我们会保密。"),
    ),
    # 拒报 and 迟报: a landline, a bank card number.
    "lvyuan": (
        ("operator", "您好，这里是县统计局举报电话。"),
        ("caller", "我要反映绿源食品厂拒报统计报表的问题。"),
        ("caller", "统计局发了三次通知，他们一直迟报，今年干脆不报了。"),
        ("operator", "这个厂的地址在哪里？"),
        ("caller", "在东平县城关镇解放路二十六号，老板叫刘志强。"),
        ("caller", "他让会计把货款打到他自己的银行卡上，卡号是{6222021234567890128}。"),
        ("operator", "您的联系电话是多少？"),
        ("caller", "我的座机是{05386612345}。"),
    ),
}

NUMBERS: dict[str, tuple[str, ...]] = {
    name: tuple(re.findall(r"\{(\d+X?)\}", "".join(t for _s, t in script)))
    for name, script in CALLS.items()
}
"""The numbers read digit by digit in each call, as Arabic digits."""

ENTITIES = ("宏达机械厂", "金盛纺织有限公司", "绿源食品厂")
"""The enterprises the calls report, as a bureau's register would list them."""

KEY_WORDS: dict[str, tuple[str, ...]] = {
    "hongda": ("宏达机械厂", "虚报", "统计台账", "原始记录", "会计"),
    "jinsheng": ("有限公司", "经济普查", "负责人", "王建国", "瞒报"),
    "lvyuan": ("绿源食品厂", "迟报", "统计报表", "统计局", "拒报", "会计"),
}
"""Names and terms a handler looks for in each call, that the bundled base writes
right at 8 kHz (with the enterprises as hot words) on every rendering of the voices
seen; 会计, 瞒报 and 拒报 only since sound-alike rewriting (the model writes 快计, 满报,
据报). Misheard in some renderings, so not here: 新乡县 (新疆县), 七里营镇 (七里，营证),
东平县 (东平线, 东亭线), 城关镇 (乘关镇), 金盛纺织 (金盛访值, 机上访知)."""

NAMES: dict[str, tuple[str, ...]] = {
    "hongda": ("宏达机械厂", "新乡县七里营镇工业路十八号"),
    "jinsheng": ("金盛纺织有限公司",),
    "lvyuan": ("绿源食品厂", "东平县城关镇解放路二十六号"),
}
"""What a case would name for each call, as hotline passes them to the model
(``hotline.transcription.case_hotwords``): the reported entity and its address, not
the people (the reporter's identity stays out of the model's prompt)."""

_NUMBER = re.compile(r"\{(\d+X?)\}")


def _groups(digits: str) -> list[str]:
    if len(digits) == 11 and digits.startswith("1"):
        cuts = [3, 7]
    elif len(digits) == 18:
        cuts = [6, 14]
    elif digits.startswith("0"):
        cuts = [3 if digits[1] in "12" else 4]
    else:
        cuts = list(range(4, len(digits), 4))
    bounds = [0, *cuts, len(digits)]
    return [digits[a:b] for a, b in itertools.pairwise(bounds)]


def spoken(text: str) -> str:
    """The text as the voice reads it: ``{138…}`` in Chinese digits."""
    return _NUMBER.sub(lambda m: spoken_digits(m.group(1)), text)


def spoken_grouped(text: str) -> str:
    """The text with its numbers read in groups: ``一五九，一二三四，五六七八``."""
    return _NUMBER.sub(lambda m: "，".join(spoken_digits(g) for g in _groups(m.group(1))), text)


def written(text: str) -> str:
    """The text as a transcript should read: ``{138…}`` as Arabic digits."""
    return _NUMBER.sub(lambda m: m.group(1), text)


def reference(name: str) -> str:
    return "".join(written(text) for _speaker, text in CALLS[name])


def call(
    name: str,
    *,
    caller: str = "zm_yunjian",
    operator: str = "zf_xiaoyi",
    **kwargs: Any,
) -> Path:
    """The call spoken by ``caller`` and ``operator`` (voices), 8 kHz µ-law, mono."""
    turns = [(speaker, spoken(text)) for speaker, text in CALLS[name]]
    return mandarin_call(turns, voices={"caller": caller, "operator": operator}, **kwargs)
