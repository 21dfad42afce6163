"""Every text the pages and their script show is in both catalogs; language choice."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hotline.archive.preservation import Reason
from hotline.auth.roles import Role
from hotline.casework import CATEGORIES
from hotline.custody.copies import PARTS
from hotline.custody.levels import LEVELS
from hotline.custody.redact_text import Kind
from hotline.custody.requests import CopyState
from hotline.store.tables import CaseStatus
from hotline.web.i18n import Catalogs, from_accept_language
from hotline.web.pages import ID_TYPES

WEB = Path(__file__).resolve().parents[3] / "hotline" / "web"


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for template in (WEB / "templates").glob("*.html"):
        keys |= set(re.findall(r"_\('([a-z_.]+)'", template.read_text()))
    script = (WEB / "static" / "app.js").read_text()
    keys |= set(re.findall(r'\bt\("([a-z_.]+)"', script))
    # Prefixes joined with a value at run time ('status.' ~ s) stand for these:
    keys = {k for k in keys if not k.endswith(".")}
    keys |= {f"confidentiality.{c}" for c in LEVELS} | {f"js.level.{c}" for c in LEVELS}
    keys |= {f"js.speaker.{s}" for s in ("caller", "operator")}
    keys |= {f"role.{r.value}" for r in Role}
    keys |= {f"status.{s.value}" for s in CaseStatus} | {f"js.status.{s.value}" for s in CaseStatus}
    keys |= {f"category.{c}" for c in ("", *CATEGORIES)}
    keys |= {f"js.{state}" for state in ("ringing", "answered", "ended")}
    keys |= {f"copy.status.{s.value}" for s in CopyState} | {f"copy.id_type.{t}" for t in ID_TYPES}
    keys |= {f"copy.part.{p}" for p in PARTS} | {f"copy.found.{k.value}" for k in Kind}
    keys |= {f"preservation.reason.{r.value}" for r in Reason}
    return keys


def test_both_catalogs_have_every_key_used() -> None:
    catalogs = {
        lang: json.loads((WEB / "messages" / f"{lang}.json").read_text()) for lang in ("zh", "en")
    }
    assert set(catalogs["zh"]) == set(catalogs["en"])
    missing = _used_keys() - set(catalogs["en"])
    assert not missing, sorted(missing)
    assert all(value.strip() for c in catalogs.values() for value in c.values())


def test_the_language_comes_from_the_setting_then_the_browser() -> None:
    catalogs = Catalogs()
    assert catalogs.choose("en", "zh-CN,zh;q=0.9") == "en"
    assert catalogs.choose("", "en-GB,en;q=0.9,zh;q=0.5") == "en"
    assert catalogs.choose("", "fr-FR,de;q=0.9") == "zh"
    assert from_accept_language("zh-TW;q=0.4, en;q=0.8") == "en"
    assert from_accept_language("en;q=0, zh") == "zh"
    assert from_accept_language("") == "zh"
    t = catalogs.translator("zh")
    assert t("case.version", version=2) == "第 2 版"
    assert t("no.such.key") == "no.such.key"
