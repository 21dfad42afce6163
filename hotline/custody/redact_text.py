"""Finding and redacting personal data in a transcript's text (DOMAIN.md): resident ID
numbers, mobile and landline numbers, bank card numbers, the reporter's name and
contact, and the terms a handler marked.

Speech recognition writes spoken numbers imperfectly (an 18-character ID came back as
``41051988031520一起``, an 11-digit mobile as ``1591235678``), so no check digit or
exact length is required: every run of seven or more digits, Arabic or Chinese, with
spaces or dashes between, is redacted. Groups of three digits or more with a comma or
stop between (``159，1234，5678``) are one number where together they pass a check or
have a kind's shape, or where a word just before says a number follows (电话, 卡号,
phone…); so is a number begun at the end of one segment and finished at the start of
the next (``split_number``). The checks (``python-stdnum``'s ``cn.ric`` for
IDs, ``phonenumbers`` for region CN, Luhn for cards) only decide which kind the
redaction says it was. What the case's own fields name that is not personal (the case
number, the entity's credit code) stays, and so do dates and times, but only where one is
all of its run of digits: inside a longer run it is part of a number (a card read with
dashes can hold ``2022-9-1``), and a date run into a number goes with it.

Pure: text in, the redacted text and the findings (kind and character span, never the
value) out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import phonenumbers
from phonenumbers import PhoneNumberType
from stdnum import luhn
from stdnum.cn import ric

from transcriber.numbers import CHINESE_DIGITS as _CHINESE_DIGITS

MIN_DIGITS = 7
MAX_DIGITS = 20
"""No number of a kind is longer (a card has 19 digits; an ID 18 characters)."""


class Kind(StrEnum):
    RESIDENT_ID = "resident_id"
    MOBILE = "mobile"
    LANDLINE = "landline"
    BANK_CARD = "bank_card"
    NUMBER = "number"
    """Seven or more digits whose checks name no kind (a number heard imperfectly)."""
    REPORTER_NAME = "reporter_name"
    REPORTER_CONTACT = "reporter_contact"
    MARKED = "marked"
    """A term a handler marked on the transcript."""


LABELS: dict[str, dict[Kind, str]] = {
    "zh": {
        Kind.RESIDENT_ID: "［居民身份证号码］",
        Kind.MOBILE: "［手机号码］",
        Kind.LANDLINE: "［固定电话］",
        Kind.BANK_CARD: "［银行卡号］",
        Kind.NUMBER: "［数字］",
        Kind.REPORTER_NAME: "［举报人姓名］",
        Kind.REPORTER_CONTACT: "［举报人联系方式］",
        Kind.MARKED: "［已删除］",
    },
    "en": {
        Kind.RESIDENT_ID: "[resident ID]",
        Kind.MOBILE: "[mobile number]",
        Kind.LANDLINE: "[landline number]",
        Kind.BANK_CARD: "[bank card number]",
        Kind.NUMBER: "[number]",
        Kind.REPORTER_NAME: "[reporter's name]",
        Kind.REPORTER_CONTACT: "[reporter's contact]",
        Kind.MARKED: "[redacted]",
    },
}

# What outranks what when two findings overlap: the reporter's identity first.
_RANK = {kind: rank for rank, kind in enumerate(Kind)}
_RANK.update({Kind.REPORTER_NAME: -3, Kind.REPORTER_CONTACT: -2, Kind.MARKED: -1})

_DIGIT = "0-9\uff10-\uff19" + "".join(_CHINESE_DIGITS)
_SEP = r"[ \t\u00a0\u3000\-\u2010\u2011\u2012\u2013\u2014\u2212\uff0d]"
_RUN = re.compile(rf"\+?[{_DIGIT}](?:{_SEP}*[{_DIGIT}])*(?:{_SEP}?[Xx](?![A-Za-z]))?")
_DATE = re.compile(
    r"(?<![0-9])(?:19|20)\d{2}([-/.])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01])(?![0-9])"
)
"""A date written with dashes, slashes or dots. It stays only where it is all of its run
of digits: ``62二2022-9-1四…`` is a card number read with dashes, not a date in one."""
_TIME = re.compile(rf"(?<![{_DIGIT}])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![{_DIGIT}])")
_GROUP_GAP = re.compile(r"[ \t\u3000]*[，,、．.；;][ \t\u3000]*")
"""What may stand between two groups of one number (``159，1234，5678``): one comma, stop
or semicolon, spaces beside it."""
MIN_GROUP = 3
"""Digits in each group of a number written in groups."""
_HINT = re.compile(
    r"(?:电话|手机|座机|号码|账号|卡|身份证|联系|微信|QQ|phone|number|card|call|\bID\b)"
    r"[^。！？!?\n]{0,6}$",
    re.IGNORECASE,
)
"""The words just before a number that say it is one (手机号是…, my phone number is…)."""
_SHAPES = re.compile(
    r"1[3-9]\d{9}|0\d{9,11}|\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dX]"
)
"""The shapes of a mobile, a landline and a resident ID number, which a number heard or
typed wrong keeps though its checks fail."""
_BLOCK = "\uffff"
"""Stands in for protected text while runs are looked for, so none crosses it."""


@dataclass(frozen=True, slots=True)
class Finding:
    start: int
    end: int
    """Character offsets into the text, end exclusive."""
    kind: Kind


@dataclass(frozen=True, slots=True)
class Context:
    """What this case says is personal, and what it says is not."""

    names: tuple[str, ...] = ()
    """The reporter's name (and the caller's name as the PBX gave it)."""
    contacts: tuple[str, ...] = ()
    """The reporter's contact, the caller's number."""
    terms: tuple[str, ...] = ()
    """Terms a handler marked."""
    keep: tuple[str, ...] = field(default=())
    """Not personal data, though full of digits: the case number, the credit code."""


def digits_of(value: str) -> str:
    """The digits of a run, as ASCII (Chinese and full-width digits read as digits),
    with an ID's final ``X`` kept."""
    out = []
    for ch in unicodedata.normalize("NFKC", value):
        if ch.isdecimal() and ch.isascii():
            out.append(ch)
        elif ch in _CHINESE_DIGITS:
            out.append(_CHINESE_DIGITS[ch])
        elif ch in "Xx":
            out.append("X")
    return "".join(out)


def _resident_id(digits: str) -> bool:
    # python-stdnum 2.x looks the area code up and raises KeyError for the code of a
    # province or city that has no county entry (a prefix such as 622202): such a
    # number is no valid ID, and a redaction must never fail on what it reads.
    try:
        return bool(ric.is_valid(digits))
    except (KeyError, ValueError):
        return False


def classify(digits: str) -> Kind:
    """The kind a run's checksums say it is (``NUMBER`` when none does)."""
    if len(digits) == 18 and _resident_id(digits):
        return Kind.RESIDENT_ID
    if "X" in digits:
        return Kind.NUMBER
    national = digits
    for prefix in ("0086", "86"):
        if national.startswith(prefix) and len(national) - len(prefix) in (10, 11):
            national = national[len(prefix) :]
            break
    if national.startswith("01") and len(national) == 12:
        national = national[1:]  # a trunk prefix before a mobile
    try:
        number = phonenumbers.parse(national, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        kind = phonenumbers.number_type(number)
        if kind == PhoneNumberType.MOBILE:
            return Kind.MOBILE
        if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
            return Kind.LANDLINE
    if 16 <= len(digits) <= 19 and luhn.is_valid(digits):
        return Kind.BANK_CARD
    return Kind.NUMBER


def _occurrences(folded: str, needles: Iterable[str]) -> Iterable[tuple[int, int]]:
    for needle in needles:
        needle = _fold(needle).strip()
        if not needle:
            continue
        start = folded.find(needle)
        while start >= 0:
            yield start, start + len(needle)
            start = folded.find(needle, start + 1)


def _fold(value: str) -> str:
    """Case-insensitive, width-insensitive, one character for one (offsets hold)."""
    return "".join(
        unicodedata.normalize("NFKC", ch).lower()
        if len(unicodedata.normalize("NFKC", ch)) == 1
        else ch
        for ch in value
    )


def find(text: str, context: Context = Context()) -> list[Finding]:
    """Everything to redact in ``text``, merged, in order."""
    folded = _fold(text)
    findings: list[Finding] = []
    names = [n for n in context.names if len(n.strip()) >= 2]
    findings += [Finding(a, b, Kind.REPORTER_NAME) for a, b in _occurrences(folded, names)]
    literal = [c for c in context.contacts if len(c.strip()) >= 3]
    findings += [Finding(a, b, Kind.REPORTER_CONTACT) for a, b in _occurrences(folded, literal)]
    terms = [t for t in context.terms if t.strip()]
    findings += [Finding(a, b, Kind.MARKED) for a, b in _occurrences(folded, terms)]

    blocked = list(folded)
    protected = list(_occurrences(folded, context.keep))
    protected += [m.span() for m in _TIME.finditer(folded)]
    for a, b in protected:
        blocked[a:b] = _BLOCK * (b - a)
    contacts = _contact_digits(context)
    text_blocked = "".join(blocked)
    for chain in _chains(text_blocked):
        for first, last in _numbers(chain, hinted(folded[: chain[0].start()])):
            digits = "".join(digits_of(m.group()) for m in chain[first : last + 1])
            if first == last and (
                len(digits.rstrip("X")) < MIN_DIGITS or _is_date(chain[first].group())
            ):
                continue  # too short to be personal, or a date and nothing else
            findings.append(
                Finding(chain[first].start(), chain[last].end(), _kind(digits, contacts))
            )
    return merge(findings)


def _numbers(chain: Sequence[re.Match[str]], hint: bool) -> list[tuple[int, int]]:
    """The numbers in a chain of groups, as (first, last) group indices.

    After a word that says a number follows (``hint``), the groups up to the one that
    makes a whole number of a kind (``…2017，2017年``: the ID, then a year), or all of
    them, are the number. Elsewhere, groups are joined only where together they are a
    whole number of a kind (``159，1234，5678``); amounts in a list stay apart."""
    out: list[tuple[int, int]] = []
    start = 0
    if hint:
        digits = ""
        for index, match in enumerate(chain):
            digits += digits_of(match.group())
            if index == len(chain) - 1 or _whole(digits):
                out.append((0, index))
                start = index + 1
                break
    while start < len(chain):
        digits, end = "", start
        for index in range(start, len(chain)):
            digits += digits_of(chain[index].group())
            if index > start and _whole(digits):
                end = index
                break
        out.append((start, end))
        start = end + 1
    return out


def _whole(digits: str) -> bool:
    """Whether digits are a whole number of a kind: its checks pass, or it has the shape
    (a mobile's 11 digits from 13 to 19, a landline's 10 to 12 from 0, an ID's 18
    characters with a birth date at 7 to 14), which a number heard wrong keeps."""
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS:
        return False
    return _SHAPES.fullmatch(digits) is not None or classify(digits) != Kind.NUMBER


def _contact_digits(context: Context) -> set[str]:
    return {d for d in (digits_of(c) for c in context.contacts) if len(d) >= MIN_DIGITS}


def _kind(digits: str, contacts: set[str]) -> Kind:
    """What a run's digits are: the reporter's contact where they are (the end of) it,
    else what the checks say."""
    if any(c.endswith(digits[-MIN_DIGITS:]) or c in digits for c in contacts):
        return Kind.REPORTER_CONTACT
    return classify(digits)


def hinted(before: str) -> bool:
    """Whether the text just before a number says it is one (电话, 卡号, phone…)."""
    return _HINT.search(before) is not None


def _is_date(run: str) -> bool:
    return not digits_of(_DATE.sub("", run))


def _chains(text: str) -> list[list[re.Match[str]]]:
    """The runs of digits in ``text``, those written in groups (``159，1234，5678``: each
    of three digits or more, one comma or stop between) chained together; a date is no
    group."""
    chains: list[list[re.Match[str]]] = []
    for match in _RUN.finditer(text):
        last = chains[-1][-1] if chains else None
        if (
            last is not None
            and _grouped(last.group())
            and _grouped(match.group())
            and _GROUP_GAP.fullmatch(text, last.end(), match.start())
        ):
            chains[-1].append(match)
        else:
            chains.append([match])
    return chains


def _grouped(run: str) -> bool:
    return len(digits_of(run)) >= MIN_GROUP and not _is_date(run)


def split_number(
    before: str, after: str, context: Context = Context()
) -> tuple[Finding, Finding] | None:
    """A number begun at the end of ``before`` and finished at the start of ``after``
    (two segments of a transcript: the caller paused inside it): the span of each part,
    of the kind the whole is. Only where the first part is no whole number of its kind,
    and the whole passes a check or a word before it says it is a number."""
    tail = re.search(rf"{_RUN.pattern}(?=[\s，,、．.。；;]*$)", before)
    head = _RUN.match(after.lstrip())
    if tail is None or head is None:
        return None
    kept = _occurrences(_fold(before), context.keep)
    if any(a < tail.end() and tail.start() < b for a, b in kept):
        return None  # the case number or the credit code, not a number begun
    first, second = digits_of(tail.group()), digits_of(head.group())
    if _whole(first) or _is_date(tail.group()) or _is_date(head.group()):
        return None  # the first part is a whole number of its kind already, or a date
    whole = first + second
    if len(whole) > MAX_DIGITS or not (_whole(whole) or hinted(_fold(before[: tail.start()]))):
        return None
    kind = _kind(whole, _contact_digits(context))
    offset = len(after) - len(after.lstrip())
    return (
        Finding(tail.start(), tail.end(), kind),
        Finding(offset + head.start(), offset + head.end(), kind),
    )


def merge(findings: Sequence[Finding]) -> list[Finding]:
    """Overlapping findings become one, of the kind that ranks first."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, f.kind, key=lambda k: _RANK[k])
            merged[-1] = Finding(last.start, max(last.end, f.end), kind)
        else:
            merged.append(f)
    return merged


def redact(
    text: str, context: Context = Context(), *, language: str = "zh"
) -> tuple[str, list[Finding]]:
    """The text with each finding replaced by its kind's label, and the findings."""
    findings = find(text, context)
    return apply(text, findings, language=language), findings


def apply(text: str, findings: Sequence[Finding], *, language: str = "zh") -> str:
    """The text with each finding (merged, in order) replaced by its kind's label."""
    labels = LABELS["en" if language == "en" else "zh"]
    out, at = [], 0
    for f in findings:
        out.append(text[at : f.start])
        out.append(labels[f.kind])
        at = f.end
    out.append(text[at:])
    return "".join(out)
