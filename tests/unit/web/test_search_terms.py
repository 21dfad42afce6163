"""Search tokens for Chinese and other text: what gets indexed, what a query needs."""

from __future__ import annotations

from hotline.search import index_terms, normalize, parse_query


def _hex(text: str) -> str:
    return "c" + "".join(f"{ord(c):05x}" for c in text)


def test_chinese_is_indexed_by_characters_and_pairs() -> None:
    terms = index_terms("虚报产值")
    assert {_hex(c) for c in "虚报产值"} <= terms
    assert {_hex("虚报"), _hex("报产"), _hex("产值")} <= terms
    assert _hex("虚产") not in terms and len(terms) == 7


def test_queries_of_one_two_and_more_characters() -> None:
    assert parse_query("厂").terms == (_hex("厂"),)
    assert parse_query("水泥").terms == (_hex("水泥"),)
    three = parse_query("水泥厂")
    assert three.terms == (_hex("水泥"), _hex("泥厂")) and three.phrases == ("水泥厂",)
    mixed = parse_query("金河 factory 2026年")
    assert mixed.terms == (_hex("金河"), "wfactory", "w2026", _hex("年"))
    assert parse_query("，。！ ?").empty


def test_every_token_is_plain_ascii_whatever_the_text() -> None:
    text = "Ünïcode ДАННЫЕ ｆｕｌｌｗｉｄｔｈ 한국어 カタカナ 𠀀 12345"
    for term in index_terms(text):
        assert term.isascii() and term.isalnum(), term
    # Full-width forms fold to ASCII, case folds.
    assert "wfullwidth" in index_terms(text)
    assert normalize("ＡＢＣ") == "abc"


def test_query_and_index_agree() -> None:
    text = "来电人称金河水泥厂虚报产值，The Golden River factory."
    indexed = index_terms(text)
    for q in ("金河", "水泥厂", "golden river", "虚报产值", "厂", "FACTORY"):
        assert set(parse_query(q).terms) <= indexed, q
    assert not set(parse_query("钢铁").terms) <= indexed


def test_a_grouped_number_is_found_by_its_digits_too() -> None:
    indexed = index_terms("我的手机号是159 1234 5678，座机0538-6612345。")
    for q in ("15912345678", "159 1234 5678", "1234", "05386612345", "0538-6612345"):
        assert set(parse_query(q).terms) <= indexed, q
    assert not set(parse_query("15912345679").terms) <= indexed
