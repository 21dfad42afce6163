from __future__ import annotations

import pytest

from hotline.phone import mask, to_e164


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("013800138000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("138 0013 8000", "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("(0571) 8888 8888", "+8657188888888"),
        ("+1 415 555 0100", "+14155550100"),
        ("12345", None),
        ("anonymous", None),
        ("", None),
    ],
)
def test_caller_ids_normalise_to_e164(raw: str, e164: str | None) -> None:
    assert to_e164(raw) == e164


def test_mask_keeps_head_and_tail_only() -> None:
    assert mask("13800138000") == "138****8000"
    assert mask("+8613800138000") == "+86*******8000"
    assert mask("12345678") == "1***5678"
    assert mask("123") == "***"
