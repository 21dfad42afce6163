"""Spoken digit strings: written in Arabic digits, grouped by kind, checked, and marked
uncertain when they are probably heard wrong. The transcripts here are the kinds the
bundled model wrote for Mandarin report calls."""

from __future__ import annotations

import pytest

from transcriber import numbers
from transcriber.metrics import cer, chinese_numerals
from transcriber.numbers import BANK_CARD, LANDLINE, MOBILE, NUMBER, RESIDENT_ID, Number
from transcriber.result import Segment, Word

WRITTEN = [
    # (what the model wrote, what the transcript says)
    ("我的手机号是一五九一二三四五六七八。", "我的手机号是159 1234 5678。"),
    ("我的手机号是15912345678,", "我的手机号是159 1234 5678,"),
    ("电话幺三八零零一三八零零零", "电话138 0013 8000"),
    ("手机159-1234-5678", "手机159 1234 5678"),
    ("159一2345678", "159 1234 5678"),
    ("我的座机是05386612345", "我的座机是0538-6612345"),
    ("座机零一零六二五五一二三四", "座机010-62551234"),
    ("卡号是6222021234567890128。", "卡号是6222 0212 3456 7890 128。"),
    ("身份证号是四一零一零五一九八八零三一五二零一七。", "身份证号是410105198803152017。"),
    ("身份证410105 19880315 201x", "身份证41010519880315201X"),
    # quantities, house numbers and years are not digit strings to regroup
    ("公司有三四个人，来了七八次。", "公司有三四个人，来了七八次。"),
    ("在工业路十八号。", "在工业路十八号。"),
    ("二零一七年", "2017年"),
    ("产值130000000元", "产值130000000元"),
    ("2024-03-15 开会", "2024-03-15 开会"),
    ("一起去了一家公司", "一起去了一家公司"),
    ("3-5人", "3-5人"),
]


@pytest.mark.parametrize(("heard", "written"), WRITTEN)
def test_spoken_digit_strings_are_written_in_arabic_digits(heard: str, written: str) -> None:
    assert numbers.normalize(heard)[0] == written


KINDS = [
    # (text, digits, kind, uncertain)
    ("我的手机号是15912345678", "15912345678", MOBILE, False),
    ("我的手机号是1591235678", "1591235678", MOBILE, True),  # a digit lost
    ("手机159123456789", "159123456789", MOBILE, True),  # a digit too many
    ("电话号码是1591235678", "1591235678", MOBILE, True),
    ("1591235678", "1591235678", MOBILE, True),  # no hint: shaped as a mobile
    ("联系电话12345678901", "12345678901", MOBILE, True),  # no mobile starts 12
    ("座机05386612345", "05386612345", LANDLINE, False),
    ("我的作机是0538661235", "0538661235", LANDLINE, True),  # misheard hint word, shape
    ("电话01062551234", "01062551234", LANDLINE, False),
    ("电话62551234", "62551234", LANDLINE, False),  # local, no area code
    ("电话625512", "625512", LANDLINE, True),
    ("身份证号是410105198803152017", "410105198803152017", RESIDENT_ID, False),
    ("身份证号是410105198803152015", "410105198803152015", RESIDENT_ID, True),  # check
    ("身份证号码是41051988031520一起", "41051988031520", RESIDENT_ID, True),
    ("我的身份正好是410-1059-880-31520-5", "4101059880315205", RESIDENT_ID, True),
    ("证件号码4101051988031520", "4101051988031520", RESIDENT_ID, True),  # 16 of 18
    ("号码是4101051988031520", "4101051988031520", RESIDENT_ID, True),  # its birth date
    ("11010519491231002x", "11010519491231002X", RESIDENT_ID, False),
    ("卡号是6222021234567890128", "6222021234567890128", BANK_CARD, False),
    ("卡号是622-022-134567-890128。", "622022134567890128", BANK_CARD, True),  # Luhn
    ("银行卡号6222021234567", "6222021234567", BANK_CARD, True),  # too short
    ("6217001234567890122", "6217001234567890122", BANK_CARD, False),
    ("产值130000000元", "130000000", NUMBER, False),  # a unit: a quantity
    ("编号20240315", "20240315", NUMBER, False),
]


@pytest.mark.parametrize(("text", "digits", "kind", "uncertain"), KINDS)
def test_each_number_is_listed_with_its_kind_and_whether_to_trust_it(
    text: str, digits: str, kind: str, uncertain: bool
) -> None:
    written, found = numbers.normalize(text)
    assert [(n.digits, n.kind, n.uncertain) for n in found] == [(digits, kind, uncertain)]
    n = found[0]
    assert numbers.digits_of(written[n.start : n.end]) == digits  # the span holds it
    assert (n.reason is not None) == uncertain
    if uncertain:
        assert written[n.start : n.end] == digits  # left unbroken: no shape claimed


def test_reasons_say_what_is_wrong() -> None:
    (mobile,) = numbers.find("我的手机号是1591235678")
    assert mobile.reason == "10 digits; a mobile number has 11"
    (rid,) = numbers.find("身份证4101051988031520")
    assert rid.reason == "16 characters; a resident ID number has 18"
    (card,) = numbers.find("卡号6222021234567890127")
    assert card.reason is not None and "check digit" in card.reason


def test_the_hint_may_come_from_the_segment_before() -> None:
    (n,) = numbers.normalize("是一五九一二三四五六七", before="请留一个手机号码。")[1]
    assert (n.kind, n.uncertain) == (MOBILE, True)
    (n,) = numbers.normalize("4101051988031520", before="您的身份证号码？")[1]
    assert n.kind == RESIDENT_ID


def test_the_nearest_hint_wins_and_the_longer_word_over_its_tail() -> None:
    (n,) = numbers.find("身份证号码15912345678")
    assert n.kind == RESIDENT_ID and n.uncertain  # said after 身份证号码: an ID misheard
    (n,) = numbers.find("身份证我忘了，手机是15912345678")
    assert (n.kind, n.uncertain) == (MOBILE, False)


def test_short_digit_strings_are_not_listed() -> None:
    assert numbers.normalize("工业路18号，2017年，电话1234")[1] == ()


def test_find_reads_a_correction_as_it_stands() -> None:
    text = "手机一五九一二三四五六七八"
    (n,) = numbers.find(text)
    assert (n.digits, n.kind, n.uncertain) == ("15912345678", MOBILE, False)
    assert text[n.start : n.end] == "一五九一二三四五六七八"


def test_two_numbers_in_one_segment() -> None:
    text, found = numbers.normalize("手机一五九一二三四五六七八，座机零五三八六六一二三四五")
    assert text == "手机159 1234 5678，座机0538-6612345"
    assert [(n.kind, text[n.start : n.end]) for n in found] == [
        (MOBILE, "159 1234 5678"),
        (LANDLINE, "0538-6612345"),
    ]


def test_check_digits() -> None:
    assert numbers.id_check_ok("410105198803152017")
    assert numbers.id_check_ok("11010519491231002X")
    assert not numbers.id_check_ok("410105198803152015")
    assert numbers.luhn_ok("6222021234567890128") and not numbers.luhn_ok("6222021234567890127")


def test_numbers_travel_in_the_segment_json() -> None:
    number = Number(6, 16, "1591235678", MOBILE, True, "10 digits; a mobile number has 11")
    text = "我的手机号是1591235678"
    seg = Segment(1.0, 3.0, text, words=(Word(1.0, 3.0, text),), numbers=(number,))
    data = seg.to_dict()
    assert data["numbers"] == [
        {
            "start": 6,
            "end": 16,
            "digits": "1591235678",
            "kind": "mobile",
            "uncertain": True,
            "reason": "10 digits; a mobile number has 11",
        }
    ]
    assert Number.from_dict(data["numbers"][0]) == number
    assert seg.uncertain_numbers == (number,)


def test_error_rates_compare_numbers_as_digits() -> None:
    assert chinese_numerals("三千万，一个亿，三百多人，二十六号") == (
        "30000000，1个亿，300多人，26号"
    )
    heard = "产值只有3000万，手机159 1234 5678"
    assert cer("产值只有三千万。手机一五九一二三四五六七八", heard) == 0
    assert cer("手机15912345678", "手机1591235678") == pytest.approx(1 / 13)


@pytest.mark.parametrize(
    ("heard", "written", "digits"),
    [
        (
            "卡号是六二二二，零二一二，三四五六，七八九零，一二八。",
            "卡号是6222 0212 3456 7890 128。",
            "6222021234567890128",
        ),
        ("手机一五九，一二三四，五六七八", "手机159 1234 5678", "15912345678"),
        (
            "身份证号是410105，19880315，2017。",
            "身份证号是410105198803152017。",
            "410105198803152017",
        ),
        ("座机是0538，6612345", "座机是0538-6612345", "05386612345"),
    ],
)
def test_a_number_read_in_groups_after_its_hint_is_one_number(
    heard: str, written: str, digits: str
) -> None:
    text, (number,) = numbers.normalize(heard)
    assert (text, number.digits, number.uncertain) == (written, digits, False)


def test_without_a_hint_a_comma_separates_numbers() -> None:
    text, found = numbers.normalize("去年3000，今年50000，后年123456")
    assert text == "去年3000，今年50000，后年123456"
    assert [n.digits for n in found] == ["50000", "123456"]


@pytest.mark.parametrize(
    ("heard", "written", "digits"),
    [
        ("我的手机号是1591234567吧。", "我的手机号是15912345678。", "15912345678"),
        ("我的手机号是一五九一二三四五六七吧", "我的手机号是15912345678", "15912345678"),
        (
            "我的身份证号是41010519880315201起。",
            "我的身份证号是410105198803152017。",
            "410105198803152017",
        ),
    ],
)
def test_a_last_digit_written_as_a_word_that_sounds_like_it_is_taken_but_doubted(
    heard: str, written: str, digits: str
) -> None:
    text, (number,) = numbers.normalize(heard)
    assert text == written
    assert number.digits == digits and number.uncertain
    assert number.reason is not None and "sounds like" in number.reason
    assert text[number.start : number.end] == digits


@pytest.mark.parametrize(
    ("heard", "digits"),
    [
        ("我的手机号是15912345678吧。", "15912345678"),  # whole already: 吧 is a particle
        ("我的手机号是1591234567吧我记不清。", "1591234567"),  # the clause goes on
        ("我的身份证号是41010519880315201吧。", "41010519880315201"),  # 8 fails the check
        ("我的手机号是1591234567好。", "1591234567"),  # 好 sounds like no digit
        ("我的手机号是159123456吧。", "159123456"),  # two digits short
    ],
)
def test_a_word_after_a_number_stays_where_it_cannot_be_its_last_digit(
    heard: str, digits: str
) -> None:
    text, (number,) = numbers.normalize(heard)
    word = heard[heard.index(digits) + len(digits)]
    assert number.digits == digits
    assert text[number.end] == word
    assert "sounds like" not in (number.reason or "")


def test_dates_glued_together_after_a_hint_word_are_a_number_marked_uncertain() -> None:
    # 六二二二零二一二… read in one breath, written as the dates its syllables make.
    text, found = numbers.normalize("卡号是6月20日12月13日5月6日8月8日。")
    assert text == "卡号是62012135688。"
    (number,) = found
    assert (number.kind, number.digits, number.uncertain) == (BANK_CARD, "62012135688", True)
    assert number.reason == "written as dates (6月20日12月13日5月6日8月8日)"
    assert text[number.start : number.end] == "62012135688"


@pytest.mark.parametrize(
    "text",
    [
        "我6月20日12月13日都去了。",  # no hint word: dates
        "卡号是6月20日办的。",  # one date after a hint word: a date
        "手机是6月20日，12月13日换的。",  # dates with something between
    ],
)
def test_dates_stay_dates(text: str) -> None:
    assert numbers.normalize(text) == (text, ())
