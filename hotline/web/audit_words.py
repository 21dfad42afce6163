"""Audit events said in words, in the reader's language: the processing record of a
case and the audit trail show what happened ("approved copy request HL-…-C01"), not an
action code and its JSON.

Each action has one message, ``audit.<action>``, in both catalogs. Its placeholders
name keys of the event's details; a dotted name reaches into a nested detail
(``{values.status}``). A format spec names a catalog prefix that puts a value into
words: ``{to:confidentiality}`` reads ``confidentiality.state``; a list is put into
words item by item and joined (``{fields:field}``); a value the prefix has no message
for is shown as it is; ``short`` cuts a digest to its first characters. A detail the
event lacks, or an empty one, reads as ``—``. An action without a message (written by a
newer version, or not yet worded) is said by ``audit.unknown`` with its code, so
nothing is ever hidden.

Who did it is said too: ``user:li.ming`` by the person's display name, tokens, the
system and the case system by what they are.

Pure: the catalogs, an action, its details in; text out. ``worded`` adds the one
query, for the display names of the people a list of events names.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.store.accounts import User
from hotline.store.tables import AuditEvent
from hotline.web.i18n import Catalogs

Lookup = Callable[[str], str | None]

EMPTY = "—"
_MISSING = object()
_LONGEST = 160
"""Characters of one value shown in a sentence (a long reason is cut, with an ellipsis)."""


class _Formatter(string.Formatter):
    def __init__(self, lookup: Lookup) -> None:
        super().__init__()
        self.lookup = lookup
        self.separator = lookup("audit.list_separator") or ", "

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        value: Any = kwargs
        for part in field_name.split("."):
            value = value.get(part, _MISSING) if isinstance(value, Mapping) else _MISSING
        return value, field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        return self.words(value, format_spec)

    def words(self, value: Any, prefix: str) -> str:
        if value is _MISSING or value is None or value == "" or value == []:
            return EMPTY
        if isinstance(value, list | tuple):
            return self.separator.join(self.words(v, prefix) for v in value)
        if isinstance(value, Mapping):
            return self.separator.join(
                f"{self.words(k, prefix)}: {self.words(v, '')}" for k, v in value.items()
            )
        if isinstance(value, bool):
            key = "true" if value else "false"
            return self.lookup(f"{prefix or 'audit.value'}.{key}") or key
        text = f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
        if prefix == "short":  # a digest: enough of it to tell one from another
            return text[:12] + "…" if len(text) > 12 else text
        if prefix:
            text = self.lookup(f"{prefix}.{text}") or text
        return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def lookup_for(catalogs: Catalogs, lang: str) -> Lookup:
    """The message of a key in ``lang`` (else English), or ``None``."""
    own, fallback = catalogs.messages.get(lang, {}), catalogs.messages["en"]
    return lambda key: own.get(key) or fallback.get(key)


def describe(lookup: Lookup, action: str, details: Mapping[str, Any]) -> str:
    """The event in words."""
    formatter = _Formatter(lookup)
    template = lookup(f"audit.{action}")
    if template is None:
        shown = "; ".join(f"{k}: {formatter.words(v, '')}" for k, v in details.items())
        template = lookup("audit.unknown") or "{action}"
        return formatter.format(template, action=action, details=shown or EMPTY)
    try:
        return formatter.format(template, **details)
    except (ValueError, IndexError):  # a malformed message must not hide the event
        return f"{action} {dict(details)}"


def who(lookup: Lookup, actor: str, names: Mapping[str, str] | None = None) -> str:
    """The actor in words: a person by display name (and user name), the rest by kind."""
    kind, _, name = actor.partition(":")
    if kind == "user" and name:
        shown = (names or {}).get(name, "")
        return f"{shown} ({name})" if shown and shown != name else name
    if kind == "token" and name:
        name = name.rsplit("#", 1)[0]
    label = lookup(f"audit.who.{kind}")
    if label is None:
        return actor
    return f"{label} ({name})" if name else label


def users_named(actors: Iterable[str]) -> set[str]:
    return {a.partition(":")[2] for a in actors if a.startswith("user:")}


async def display_names(session: AsyncSession, usernames: Iterable[str]) -> dict[str, str]:
    """Display names of the people ``usernames`` names (those who have one)."""
    wanted = sorted(set(usernames))[:500]
    if not wanted:
        return {}
    rows = (
        await session.exec(
            select(User.username, User.display_name).where(col(User.username).in_(wanted))
        )
    ).all()
    return {username: shown for username, shown in rows if shown}


@dataclass(frozen=True, slots=True)
class Worded:
    event: AuditEvent
    text: str
    """What happened, in words."""
    who: str
    """Who did it, in words."""
    details: dict[str, Any]
    """The details as people are shown them (``present.event_details``)."""


async def worded(
    session: AsyncSession,
    events: Sequence[AuditEvent],
    lookup: Lookup,
    shown: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[Worded]:
    """``events`` in words; ``shown`` masks what people are not shown of the details."""
    names = await display_names(session, users_named(e.actor for e in events))
    out = []
    for e in events:
        details = shown(e.details)
        out.append(
            Worded(e, describe(lookup, e.action, details), who(lookup, e.actor, names), details)
        )
    return out
