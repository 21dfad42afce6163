"""Message catalogs (``messages/zh.json``, ``messages/en.json``) and the choice of
language: the user's setting, else the browser's ``Accept-Language``, else Chinese."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
_DIR = Path(__file__).parent / "messages"


class Catalogs:
    def __init__(self, directory: Path = _DIR) -> None:
        self.messages: dict[str, dict[str, str]] = {
            lang: json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES
        }

    def choose(self, setting: str, accept_language: str | None) -> str:
        if setting in LANGUAGES:
            return setting
        return from_accept_language(accept_language or "")

    def translator(self, lang: str) -> Callable[..., str]:
        own = self.messages.get(lang, {})
        fallback = self.messages["en"]

        def translate(key: str, **values: Any) -> str:
            text = own.get(key) or fallback.get(key) or key
            return text.format(**values) if values else text

        return translate

    def for_scripts(self, lang: str) -> dict[str, str]:
        """The messages the browser's scripts use (keys starting with ``js.``)."""
        merged = {**self.messages["en"], **self.messages.get(lang, {})}
        return {k: v for k, v in merged.items() if k.startswith("js.")}


def from_accept_language(header: str) -> str:
    """The first of our languages in the browser's order of preference."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else DEFAULT
