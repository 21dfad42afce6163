"""Numbers a handler can trust: spoken digit strings written as digits, and marked when
they are probably wrong.

A caller reads a phone, ID or bank card number digit by digit (一五九一二三四五六七八).
The model writes such strings now in Chinese digits, now in Arabic ones, grouped at
random (``410-1059-880-31520-5``), and sometimes loses or merges a digit. ``normalize``
writes every spoken digit string in Arabic digits, grouped as that kind of number is
written (a mobile ``159 1234 5678``, a resident ID unbroken, a bank card in fours, a
landline ``0538-6612345``), and lists each one as a ``Number``: its kind, its digits,
and whether it is **uncertain** — the wrong length for its kind (an ID with 16
characters, a mobile with 10 digits) or a failed check digit. Redaction and search read
the digits; a handler reads the mark and asks the caller again.

What is a digit string: a run of Arabic digits, or of four or more Chinese digits
(零〇一二三四五六七八九幺; ``三四个人`` and ``七八个`` are quantities and stay), with
spaces or dashes between; the check character ``X`` of an ID is kept. Numbers with
units (``三千万``, ``十八号``) are left as the model wrote them.

A number one digit short whose next character sounds like the missing digit, with
nothing after it but punctuation (``1591234567吧。``: 吧 for 八; ``41010519880315201起``),
gets that digit when its kind then has its length and its check digit holds; it stays
marked uncertain, with the character it was read from in the reason. After a hint word,
dates glued together (``卡号是6月20日12月13日5月6日8月8日``: a card number read in one
breath, written as the dates its syllables also make) are that number's digits, marked
uncertain: digits were surely lost.

The kind comes from the words just before the number (身份证, 银行卡/卡号, 手机, 座机,
电话…) and from its shape (a mobile starts 13–19, a landline 0, an ID holds a birth
date at characters 7–14, a bank card has 16–19 digits).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from transcriber.chinese import readings

MOBILE = "mobile"
LANDLINE = "landline"
RESIDENT_ID = "resident_id"
BANK_CARD = "bank_card"
NUMBER = "number"
KINDS = (MOBILE, LANDLINE, RESIDENT_ID, BANK_CARD, NUMBER)

MIN_DIGITS = 5
"""Digit strings shorter than this (house numbers, years) are written but not listed."""
MIN_CHINESE_RUN = 4
"""Chinese digits in a row before they count as a digit string: two or three are a
quantity (三四个人, 七八十), four or more are read digit by digit."""

CHINESE_DIGITS = {
    "零": "0",
    "〇": "0",
    "一": "1",
    "幺": "1",
    "二": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_ZH = "".join(CHINESE_DIGITS)
DIGIT_CHARS = f"0-9\uff10-\uff19{_ZH}"
"""A regular-expression class body: the characters a spoken digit is written with
(Arabic, full-width and Chinese digits)."""
_SEP = r"[ \u00a0\u3000\-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d]"
_RUN = re.compile(rf"[{DIGIT_CHARS}](?:{_SEP}?[{DIGIT_CHARS}])*(?:{_SEP}?[Xx](?![A-Za-z]))?")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")

# The words before a number that say what it is; the nearest one wins.
_HINTS: tuple[tuple[str, str], ...] = (
    ("身份", RESIDENT_ID),
    ("身份证号码", RESIDENT_ID),
    ("证件号", RESIDENT_ID),
    ("证件号码", RESIDENT_ID),
    ("银行卡", BANK_CARD),
    ("卡号", BANK_CARD),
    ("卡号码", BANK_CARD),
    ("账号", BANK_CARD),
    ("帐号", BANK_CARD),
    ("账户", BANK_CARD),
    ("手机", MOBILE),
    ("手机号码", MOBILE),
    ("座机", LANDLINE),
    ("座机号码", LANDLINE),
    ("固话", LANDLINE),
    ("固定电话", LANDLINE),
    ("电话", "phone"),
    ("电话号码", "phone"),
    ("联系方式", "phone"),
    ("号码", "phone"),
)
_HINT_REACH = 12
"""Characters before a number searched for a hint word."""

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True, slots=True)
class Number:
    """A digit string in a segment's text and what it probably is."""

    start: int
    end: int
    """Character offsets into the segment's text (end exclusive)."""
    digits: str
    """Its digits, ASCII, without grouping (an ID's final ``X`` kept)."""
    kind: str
    """``mobile``, ``landline``, ``resident_id``, ``bank_card`` or ``number``."""
    uncertain: bool = False
    """Probably heard wrong: the wrong length for its kind, or a failed check digit."""
    reason: str | None = None
    """Why it is uncertain, in words."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Number:
        reason = data.get("reason")
        return cls(
            int(data["start"]),
            int(data["end"]),
            str(data["digits"]),
            str(data["kind"]),
            bool(data.get("uncertain", False)),
            None if reason is None else str(reason),
        )


def normalize(text: str, *, before: str = "") -> tuple[str, tuple[Number, ...]]:
    """``text`` with its spoken digit strings in Arabic digits, grouped by kind, and
    the numbers found in it. ``before``: the text said just before (the previous
    segment), searched for a hint word too."""
    return _scan(text, before, rewrite=True)


def find(text: str, *, before: str = "") -> tuple[Number, ...]:
    """The numbers in ``text`` as it stands (a person's correction): nothing rewritten."""
    return _scan(text, before, rewrite=False)[1]


def digits_of(value: str) -> str:
    """The ASCII digits of a run (Chinese and full-width digits read as digits), an
    ID's ``X`` kept."""
    out = []
    for ch in value:
        if "0" <= ch <= "9":
            out.append(ch)
        elif "\uff10" <= ch <= "\uff19":
            out.append(chr(ord(ch) - 0xFF10 + ord("0")))
        elif ch in CHINESE_DIGITS:
            out.append(CHINESE_DIGITS[ch])
        elif ch in "Xx":
            out.append("X")
    return "".join(out)


def _scan(text: str, before: str, *, rewrite: bool) -> tuple[str, tuple[Number, ...]]:
    out: list[str] = []
    numbers: list[Number] = []
    done = 0
    for start, end in _spans(text, before):
        run = text[start:end]
        digits = digits_of(run)
        hint = _hint(before + text[:start])
        if hint is None and text[end : end + 1] in _UNITS:
            kind, uncertain, reason = NUMBER, False, None  # a quantity: 30000000元
        elif _GLUED_DATES.fullmatch(run):
            kind, _uncertain, _reason = classify(digits, hint)
            uncertain, reason = True, f"written as dates ({run})"
        else:
            kind, uncertain, reason = classify(digits, hint)
            completed = _completed(text, end, digits, kind, hint) if rewrite and uncertain else None
            if completed is not None:
                digits, reason = completed
                end += 1
        listed = len(digits.rstrip("X")) >= MIN_DIGITS
        shown = run
        if rewrite and (listed or any(c in CHINESE_DIGITS for c in run)):
            shown = _written(run, digits, kind, uncertain)
        out.append(text[done:start])
        at = sum(len(piece) for piece in out)
        out.append(shown)
        done = end
        if listed:
            numbers.append(Number(at, at + len(shown), digits, kind, uncertain, reason))
    out.append(text[done:])
    return "".join(out), tuple(numbers)


_DIGIT_SOUNDS = {
    "ling": "0",
    "yi": "1",
    "yao": "1",
    "er": "2",
    "san": "3",
    "si": "4",
    "wu": "5",
    "liu": "6",
    "qi": "7",
    "ba": "8",
    "jiu": "9",
}
"""A digit's syllable, tone left out: 吧 and 把 sound like 八, 起 and 期 like 七."""


def _completed(
    text: str, end: int, digits: str, kind: str, hint: str | None
) -> tuple[str, str] | None:
    """The digits with the one the model wrote as a word (``1591234567吧``), and the
    reason to doubt them, when the number is one digit short of its kind, the
    character after it ends the clause and sounds like a digit, and with that digit
    the number has its kind's length and passes its check."""
    char = text[end : end + 1]
    if not _CJK.fullmatch(char) or char in CHINESE_DIGITS or _CJK.match(text[end + 1 : end + 2]):
        return None
    short = {MOBILE: (10,), RESIDENT_ID: (17,), BANK_CARD: (15, 16, 17, 18)}.get(kind, ())
    if len(digits) not in short:
        return None
    found = {_DIGIT_SOUNDS[s] for s in readings(char)[1] if s in _DIGIT_SOUNDS}
    if len(found) != 1:
        return None
    whole = digits + found.pop()
    again, uncertain, _reason = classify(whole, hint)
    if again != kind or uncertain:
        return None
    return whole, f"the last digit was written {char}, which sounds like {whole[-1]}"


_PAUSE = re.compile(r"[，,、]\s?")
"""What the model writes where a caller paused inside a number read in groups."""


_GLUED_DATES = re.compile(r"(?:[0-9\uff10-\uff19]{1,2}月[0-9\uff10-\uff19]{1,2}日){2,}")
"""Dates one after the other with nothing between (``6月20日12月13日``): what the model
can make of a number read in one breath (六二，二零…), never how a date is said."""


def _spans(text: str, before: str) -> list[tuple[int, int]]:
    """The digit strings of ``text``. After a hint word (卡号, 手机…), groups the caller
    read with pauses (``6222，0212，3456``) are one number, and so are dates glued
    together (``_GLUED_DATES``); elsewhere a comma separates numbers (``3000，5000``)."""
    glued = [
        (m.start(), m.end())
        for m in _GLUED_DATES.finditer(text)
        if _hint(before + text[: m.start()]) is not None
    ]
    runs: list[tuple[int, int, bool]] = [(a, b, True) for a, b in glued]
    for match in _RUN.finditer(text):
        start, end = _trim(text, match.start(), match.end())
        if end > start and not any(a <= start < b for a, b in glued):
            runs.append((start, end, _is_digit_string(text[start:end])))
    runs.sort()
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(runs):
        start, end, ok = runs[i]
        j = i
        if _hint(before + text[:start]) is not None:
            while (
                j + 1 < len(runs)
                and _PAUSE.fullmatch(text[runs[j][1] : runs[j + 1][0]])
                and len(digits_of(text[runs[j + 1][0] : runs[j + 1][1]])) >= 2
                and len(digits_of(text[runs[j][0] : runs[j][1]])) >= 2
            ):
                j += 1
                ok = ok or runs[j][2]
        if ok:
            spans.append((start, runs[j][1]))
        i = j + 1
    return spans


def _written(run: str, digits: str, kind: str, uncertain: bool) -> str:
    if uncertain:
        return digits  # unbroken: grouping would claim a shape it does not have
    if kind == NUMBER:
        # No known shape: the digits made Arabic, the rest (2024-03-15) as written.
        return "".join(digits_of(c) or c for c in run)
    return format_number(digits, kind)


_UNITS = frozenset("元块角万亿千百十人个名件台辆吨米斤克升度%％年月日号岁次天户家")
"""A unit after a number makes it a quantity, whatever its length."""


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """A run without a lone Chinese digit at either end that belongs to the word next
    to it: ``1520一起`` is ``1520`` and ``一起``."""
    if _lone(text, end - 1, end - 2, start, end) and _CJK.match(text[end : end + 1]):
        end -= 1
    if _lone(text, start, start + 1, start, end) and start > 0 and _CJK.match(text[start - 1]):
        start += 1
    while end > start and not _is_digit_char(text[end - 1]) and text[end - 1] not in "Xx":
        end -= 1
    while start < end and not _is_digit_char(text[start]):
        start += 1
    return start, end


def _lone(text: str, at: int, beside: int, start: int, end: int) -> bool:
    """The character at ``at`` is a Chinese digit and the one ``beside`` it in the run is not."""
    return end - start > 1 and text[at] in CHINESE_DIGITS and text[beside] not in CHINESE_DIGITS


def _is_digit_char(ch: str) -> bool:
    return "0" <= ch <= "9" or "\uff10" <= ch <= "\uff19" or ch in CHINESE_DIGITS


def _is_digit_string(run: str) -> bool:
    """Arabic digits always make a digit string (a Chinese digit among them is one
    too); Chinese digits alone only four or more in a row."""
    if any("0" <= c <= "9" or "\uff10" <= c <= "\uff19" for c in run):
        return True
    return max(len(piece) for piece in re.findall(rf"[{_ZH}]+", run)) >= MIN_CHINESE_RUN


def _hint(before: str) -> str | None:
    """The kind named by the hint word ending nearest to the number (the longer word
    where two end together: 身份证号码, not 号码)."""
    tail = before[-_HINT_REACH:]
    best: tuple[int, int, str] | None = None
    for word, kind in _HINTS:
        at = tail.rfind(word)
        if at >= 0 and (best is None or (at + len(word), len(word)) > best[:2]):
            best = (at + len(word), len(word), kind)
    return best[2] if best else None


def classify(digits: str, hint: str | None = None) -> tuple[str, bool, str | None]:
    """``(kind, uncertain, reason)`` for a digit string; ``hint``: the kind the words
    before it name (``phone`` for 电话 or 号码, which may be either line)."""
    n = len(digits)
    if "X" in digits[:-1]:
        return NUMBER, True, "an X among the digits"
    # 号码 and 电话 name a phone number, but none has an ID's or a card's length.
    vague = hint in (None, "phone")
    if hint == RESIDENT_ID or digits.endswith("X") or (vague and _has_birth_date(digits)):
        if n != 18:
            return RESIDENT_ID, True, f"{n} characters; a resident ID number has 18"
        if not id_check_ok(digits):
            return RESIDENT_ID, True, "the check character does not match: a digit is wrong"
        return RESIDENT_ID, False, None
    if hint == BANK_CARD or (vague and 16 <= n <= 19):
        if not 16 <= n <= 19:
            return BANK_CARD, True, f"{n} digits; a bank card number has 16 to 19"
        if not luhn_ok(digits):
            return BANK_CARD, True, "the check digit does not match: a digit is wrong"
        return BANK_CARD, False, None
    mobile_shape = digits[:1] == "1" and digits[1:2] in tuple("3456789")
    if mobile_shape and n == 11:
        return MOBILE, False, None
    if (
        hint == MOBILE
        or (hint == "phone" and digits[:1] == "1")
        or (hint is None and mobile_shape and 9 <= n <= 12)
    ):
        if n != 11:
            return MOBILE, True, f"{n} digits; a mobile number has 11"
        return MOBILE, True, "a mobile number starts with 13 to 19"
    if hint in (LANDLINE, "phone") or (hint is None and digits[:1] == "0" and n >= 9):
        if digits[:1] == "0":
            area = 3 if digits[1:2] in ("1", "2") else 4
            if 7 <= n - area <= 8:
                return LANDLINE, False, None
            return (
                LANDLINE,
                True,
                f"{n} digits; a landline with area code {digits[:area]} has "
                f"{area + 7} or {area + 8}",
            )
        if 7 <= n <= 8:
            return LANDLINE, False, None  # a local number, without its area code
        return LANDLINE, True, f"{n} digits; a landline has 7 or 8, or 10 to 12 with its area code"
    return NUMBER, False, None


def format_number(digits: str, kind: str) -> str:
    """``digits`` as a number of ``kind`` is written: a mobile ``159 1234 5678``, a bank
    card in fours, a landline ``0538-6612345``, an ID and anything else unbroken."""
    if kind == MOBILE:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if kind == BANK_CARD:
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    if kind == LANDLINE and digits.startswith("0"):
        area = 3 if digits[1:2] in ("1", "2") else 4
        return f"{digits[:area]}-{digits[area:]}"
    return digits


def id_check_ok(digits: str) -> bool:
    """ISO 7064 MOD 11-2, the check character of an 18-character resident ID."""
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17]


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit bank cards end with."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _has_birth_date(digits: str) -> bool:
    """Characters 7–14 are a date of birth (YYYYMMDD), as in a resident ID, and the
    string is about an ID's length."""
    if not 15 <= len(digits) <= 19 or digits[0] not in "12345678":
        return False
    year, month, day = digits[6:10], digits[10:12], digits[12:14]
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return False
    return 1900 <= int(year) <= 2099 and 1 <= int(month) <= 12 and 1 <= int(day) <= 31
