"""Audit events in words: every action the code can write has its sentence in both
catalogs, the sentences are filled from the details, and an event nobody worded is
still shown, by its code.

The actions are read from the source: every ``append_audit(…, action=…)``, and every
call of a function that passes its own ``action`` parameter on to it (followed until
nothing new turns up). A new action without its two messages fails here, naming the
keys to add to ``hotline/web/messages/zh.json`` and ``en.json``.
"""

from __future__ import annotations

import ast
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path

from hotline.calls import IncidentKind
from hotline.web.audit_words import describe, lookup_for, who
from hotline.web.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[3] / "hotline"
MESSAGES = ROOT / "web" / "messages"
ACTION = re.compile(r"^[a-z][a-z_-]*(\.[a-z][a-z_-]*)+$")
# f-strings that make actions, and what their placeholder takes.
EXPANDED = {"incident.": [k.value for k in IncidentKind]}


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _action_arg(call: ast.Call, position: int | None) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "action":
            return keyword.value
    if position is not None and position < len(call.args):
        return call.args[position]
    return None


def _values(expr: ast.expr, where: str) -> tuple[set[str], bool]:
    """The actions an expression can be, and whether it is a bare name (passed on)."""
    if isinstance(expr, ast.Name):
        return set(), True
    if isinstance(expr, ast.JoinedStr):
        head = expr.values[0]
        prefix = head.value if isinstance(head, ast.Constant) else ""
        assert prefix in EXPANDED, f"{where}: say in EXPANDED what f{prefix!r}… can be"
        return {prefix + v for v in EXPANDED[prefix]}, False
    found = {
        node.value
        for node in ast.walk(expr)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    actions = {v for v in found if ACTION.match(v)}
    assert actions, f"{where}: cannot tell which actions {ast.unparse(expr)} can be"
    return actions, False


def _constants(trees: dict[Path, ast.Module]) -> dict[str, str]:
    """Module-level ``NAME = "an.action"`` strings, wherever they are defined."""
    found: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and ACTION.match(node.value.value)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        found[target.id] = node.value.value
    return found


def emitted_actions() -> set[str]:
    trees = {path: ast.parse(path.read_text()) for path in sorted(ROOT.rglob("*.py"))}
    constants = _constants(trees)
    # function name -> index of its ``action`` parameter among the call's arguments
    forwarders: dict[str, int | None] = {"append_audit": None}
    actions: set[str] = set()
    seen: set[str] = set()
    while set(forwarders) - seen:
        current = dict(forwarders)
        seen |= set(current)
        for path, tree in trees.items():
            for fn in _functions(tree):
                params = [a.arg for a in fn.args.args]
                if params[:1] in (["self"], ["cls"]):
                    params = params[1:]
                keyword_only = {a.arg for a in fn.args.kwonlyargs}
                for node in ast.walk(fn):
                    if not isinstance(node, ast.Call) or _callee(node) not in current:
                        continue
                    expr = _action_arg(node, current[_callee(node)])
                    if expr is None:
                        continue
                    where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
                    values, passed_on = _values(expr, where)
                    actions |= values
                    if passed_on:
                        assert isinstance(expr, ast.Name), where
                        name = expr.id
                        if name not in params and name not in keyword_only and name in constants:
                            actions.add(constants[name])
                            continue
                        assert name in params or name in keyword_only, (
                            f"{where}: cannot tell which actions {name} can be; write the "
                            "action as a literal, or pass on a parameter named action"
                        )
                        forwarders.setdefault(
                            fn.name, params.index(name) if name in params else None
                        )
    return actions


def _catalog(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((MESSAGES / f"{lang}.json").read_text())
    return data


def test_every_action_the_code_writes_is_worded_in_both_languages() -> None:
    actions = emitted_actions()
    # The scan finds what it must: direct, conditional, forwarded, and made by f-string.
    assert {
        "copy.requested",
        "copy.revoked",
        "user.enabled",
        "call.answered",
        "recording.started",
        "case.intake",
        "incident.source.down",
    } <= actions
    for lang in ("zh", "en"):
        catalog = _catalog(lang)
        missing = sorted(f"audit.{a}" for a in actions if f"audit.{a}" not in catalog)
        assert not missing, f"add to hotline/web/messages/{lang}.json: {missing}"


def test_each_message_names_only_catalog_prefixes_that_exist() -> None:
    for lang in ("zh", "en"):
        catalog = _catalog(lang)
        prefixes = {k.rsplit(".", 1)[0] for k in catalog}
        for key, text in catalog.items():
            if not key.startswith("audit."):
                continue
            for _literal, name, spec, _conv in string.Formatter().parse(text):
                if name is None or not spec:
                    continue
                assert spec == "short" or spec in prefixes, (lang, key, spec)


def test_sentences_are_filled_from_the_details() -> None:
    catalogs = Catalogs()
    zh, en = lookup_for(catalogs, "zh"), lookup_for(catalogs, "en")
    approved = {"number": "HL-2026-000001-C01", "party": "王**", "comment": "同意"}
    assert (
        describe(zh, "copy.approved", approved) == "批准复制申请 HL-2026-000001-C01（意见：同意）"
    )
    assert describe(en, "copy.approved", {**approved, "comment": ""}) == (
        "approved copy request HL-2026-000001-C01 (comment: —)"
    )
    level = {"from": "personal", "to": "state", "reason": "涉密"}
    assert describe(zh, "case.confidentiality_set", level) == (
        "密级由“个人隐私”改为“国家秘密”（理由：涉密）"
    )
    changed = {"fields": ["category", "entity_name"], "values": {"category": "other"}}
    assert describe(zh, "case.updated", changed) == "修改举报类型、被举报单位"
    requested = {
        "number": "HL-2026-000001-C02",
        "party": "王**",
        "purpose": "申请行政复议",
        "what": ["recording", "transcript"],
        "redacted": True,
    }
    assert describe(en, "copy.requested", requested) == (
        "recorded copy request HL-2026-000001-C02 for 王**: 申请行政复议 "
        "(recording, transcript; personal data redacted)"
    )
    issued = {"number": "X-C01", "zip_sha256": "ab" * 32}
    assert describe(en, "copy.issued", issued) == "issued copy X-C01 (ZIP SHA-256 abababababab…)"
    # An older event without a detail the sentence names: a dash, not an error.
    assert describe(en, "case.opened", {}) == "opened the case —"
    assert describe(zh, "transcript.viewed", {"version": 2, "via": "page"}) == "查阅转写（第 2 版）"
    long = describe(en, "caller.unmasked", {"reason": "x" * 500})
    assert len(long) < 200 and long.endswith("…)")


def test_an_action_nobody_worded_is_shown_by_its_code_and_details() -> None:
    zh = lookup_for(Catalogs(), "zh")
    said = describe(zh, "archive.sealed", {"archive": 3, "ok": True, "files": ["a", "b"]})
    assert said == "archive.sealed（archive: 3; ok: 是; files: a、b）"
    assert describe(zh, "archive.sealed", {}) == "archive.sealed（—）"


def test_who_did_it() -> None:
    zh, en = lookup_for(Catalogs(), "zh"), lookup_for(Catalogs(), "en")
    names = {"zhang.wei": "张伟"}
    assert who(zh, "user:zhang.wei", names) == "张伟 (zhang.wei)"
    assert who(zh, "user:li.ming", names) == "li.ming"
    assert who(zh, "system") == "系统" and who(en, "system:sip") == "System (sip)"
    assert who(en, "token:case-system#4") == "API token (case-system)"
    assert who(zh, "case-system:2") == "办案系统 (2)"
    assert who(en, "martian:x") == "martian:x"
