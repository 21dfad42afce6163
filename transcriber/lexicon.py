"""The hotline's own vocabulary, given to the model so that it writes these words and
not the words that sound like them (虚报, not 需报; 会计, not 快计; 厂, not 常).

A statistics hotline hears the same few dozen words in every call: the violations the
Statistics Law names, the records they concern, and the words a report is made of
(who, which enterprise, where). Before the model decodes Mandarin it is shown these
(as hot words: ``Options.lexicon_zh``), after the names of the case and
``HOTLINE_HOTWORDS``. ``bench/transcribe.py`` prints the character error rate with and
without them, per voice.
"""

from __future__ import annotations

from collections.abc import Iterable

STATISTICS_ZH: tuple[str, ...] = (
    "虚报",
    "瞒报",
    "伪造",
    "篡改",
    "拒报",
    "迟报",
    "弄虚作假",
    "统计台账",
    "原始记录",
    "统计报表",
    "统计数据",
    "产值",
    "经济普查",
    "统计局",
    "统计执法",
)
"""Violations of the Statistics Law and the records and bodies they concern."""

REPORT_ZH: tuple[str, ...] = (
    "举报",
    "厂",
    "公司",
    "负责人",
    "会计",
    "老板",
    "县",
    "镇",
    "身份证号",
    "手机号",
    "座机",
    "银行卡",
)
"""The words a report is made of: the enterprise, its people, the place, the contact."""

LEXICON_ZH: tuple[str, ...] = STATISTICS_ZH + REPORT_ZH

HEARD_ZH: tuple[str, ...] = (
    "统计违法",
    "违法",
    "统计法",
    "县统计局",
    "市统计局",
    "举报热线",
    "举报电话",
    "普查表",
    "统计调查",
)
"""Words of these calls that a transcript is compared with by sound
(``transcriber.soundalike``: 统计为法 is written 统计违法, 现统计局 县统计局) but that
are not shown to the model. Every hot word makes each decoding step longer (the
lexicon's 132 tokens made a five-minute Mandarin call take about 15 % longer), and a longer list
decoded worse: 统计违法 and 县统计局 as hot words raised the CER (0.068 to 0.073), while
comparing with them afterwards costs nothing in decoding."""


def combine(*groups: Iterable[str]) -> tuple[str, ...]:
    """The words of every group, in order, each once, blanks left out: the most specific
    first (a case's names, then configured hot words, then the lexicon), since a long
    list is cut from the end."""
    seen: dict[str, None] = {}
    for group in groups:
        for word in group:
            word = word.strip()
            if word:
                seen.setdefault(word, None)
    return tuple(seen)
