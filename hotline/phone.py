"""Caller IDs: keep the raw value, derive an E.164 form where one can be known.

Caller ID reaches the hotline as ``+8613800138000``, ``008613800138000``,
``013800138000`` (trunk prefix before a mobile) or ``13800138000``; landlines as
``010-12345678`` or ``(0571) 8888 8888``. Short codes (``12345``) and anything
unrecognised have no E.164 form.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0([1-9]\d{1,2})(\d{7,8})")


def to_e164(raw: str, country_code: str = "86") -> str | None:
    """The E.164 form of a caller ID, or ``None`` when it cannot be told."""
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("+"):
        rest = digits[1:]
        return f"+{rest}" if rest.isdecimal() and 8 <= len(rest) <= 15 else None
    if not digits.isdecimal():
        return None
    if digits.startswith("00"):
        rest = digits[2:]
        return f"+{rest}" if 8 <= len(rest) <= 15 else None
    if digits.startswith(country_code) and _MOBILE.fullmatch(digits[len(country_code) :]):
        return f"+{digits}"
    if _MOBILE.fullmatch(digits):
        return f"+{country_code}{digits}"
    if digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return f"+{country_code}{digits[1:]}"
    if _LANDLINE.fullmatch(digits):
        return f"+{country_code}{digits[1:]}"
    return None


def mask(raw: str) -> str:
    """``13800138000`` -> ``138****8000``: enough to recognise, not to dial."""
    digits = raw.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if len(digits) >= 10 else 1
    return digits[:keep_head] + "*" * (len(digits) - keep_head - 4) + digits[-4:]
