"""Full-text search over cases (transcripts, notes, the reported entity) that works for
Chinese, on SQLite and on PostgreSQL.

Chinese is written without spaces and its words are often one or two characters long,
so no word splitter is needed or trusted: every run of Chinese (and Japanese, Korean)
characters is indexed as its single characters and its character bigrams; other text as
lower-case words. A query matches when every bigram of each Chinese run (or its single
character, for a one-character run) and every word is present; a run of three or more
characters is then checked as an exact substring, since its bigrams may occur apart.

Tokens are written as ASCII (``w`` + word, ``c``/``x`` + code points in hex) so that
SQLite's FTS5 ``ascii`` tokenizer and PostgreSQL's ``simple`` text search configuration
store them exactly as given, whatever the database's locale.

The index (``case_search``) follows the cases by catching up before each search: new
cases, and transcripts newer than what a case's row folded in. The web's own edits
reindex their case in the same transaction.

May import: ``hotline.store``, ``hotline.cases``.
"""

from __future__ import annotations

import asyncio
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hotline.cases import latest_transcripts
from hotline.store.casework import CaseSearch
from hotline.store.db import Database
from hotline.store.tables import Case, Transcript
from hotline.store.types import utcnow

_CJK = (
    "\u3040-\u30ff"  # kana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # CJK ideographs
    "\uac00-\ud7af"  # hangul
    "\U00020000-\U0003134f"
)
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_MAX_WORD = 64
_MAX_QUERY_TERMS = 32
# Commit order can differ from id order (ids are taken before commit), so each catch-up
# looks back this many ids past what it saw last time.
_LOOK_BACK = 200
_CATCH_UP_EVERY = 1.0
"""Seconds: searches within this time of a catch-up reuse it (writes made elsewhere
show up in search within this delay; the web's own edits reindex at once)."""
_BATCH = 500

INDEXED_FIELDS = (
    "number",
    "entity_name",
    "entity_credit_code",
    "entity_address",
    "entity_industry",
    "category",
    "description",
    "evidence_leads",
    "operator_notes",
)
"""Case fields that are searched, with the transcripts. Reporters' identities and
caller numbers are deliberately not: search must not become a way around masking."""


def normalize(value: str) -> str:
    return unicodedata.normalize("NFKC", value).lower()


def _hex(chars: str) -> str:
    return "".join(f"{ord(c):05x}" for c in chars)


def _word(word: str) -> str:
    word = word[:_MAX_WORD]
    return f"w{word}" if word.isascii() else f"x{_hex(word)}"


_GROUPED_DIGITS = re.compile(r"\d+(?:[ -]\d+)+")
"""A number written in groups (a mobile ``159 1234 5678``, a landline ``0538-6612345``, as
the transcriber writes them): indexed as its groups and as one unbroken word too."""


def index_terms(value: str) -> set[str]:
    """Every token a text is indexed under."""
    terms: set[str] = set()
    folded = normalize(value)
    for cjk, word in _RUNS.findall(folded):
        if cjk:
            terms.update(f"c{_hex(ch)}" for ch in cjk)
            terms.update(f"c{_hex(cjk[i : i + 2])}" for i in range(len(cjk) - 1))
        else:
            terms.add(_word(word))
    terms.update(_word(re.sub(r"\D", "", m.group())) for m in _GROUPED_DIGITS.finditer(folded))
    return terms


@dataclass(frozen=True, slots=True)
class Query:
    terms: tuple[str, ...]
    """All must be present."""
    phrases: tuple[str, ...]
    """Chinese runs of three or more characters, checked as exact substrings."""

    @property
    def empty(self) -> bool:
        return not self.terms


def parse_query(value: str) -> Query:
    terms: list[str] = []
    phrases: list[str] = []
    for cjk, word in _RUNS.findall(normalize(value)):
        if cjk and len(cjk) == 1:
            terms.append(f"c{_hex(cjk)}")
        elif cjk:
            terms.extend(f"c{_hex(cjk[i : i + 2])}" for i in range(len(cjk) - 1))
            if len(cjk) > 2:
                phrases.append(cjk)
        else:
            terms.append(_word(word))
    unique = tuple(dict.fromkeys(terms))[:_MAX_QUERY_TERMS]
    return Query(unique, tuple(dict.fromkeys(phrases)))


def _inline(value: Any) -> BindParameter[Any]:
    """A value written into the statement, not sent as a parameter: PostgreSQL plans a
    prepared statement generically after five runs, and a generic plan cannot know
    that ``id > $1`` selects a few recent rows or that a word is rare."""
    return bindparam(None, value, literal_execute=True)


def _like(phrase: str) -> str:
    escaped = phrase.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _hits(query: Query, dialect: str) -> ColumnElement[bool]:
    """The condition on ``case_search`` rows that match the query."""
    if dialect == "postgresql":
        tsquery = " & ".join(query.terms)
        hit: ColumnElement[bool] = literal_column("case_search.tsv").op("@@")(
            func.to_tsquery(literal_column("'simple'::regconfig"), _inline(tsquery))
        )
    else:
        fts = " AND ".join(f'"{t}"' for t in query.terms)
        hit = col(CaseSearch.case_id).in_(
            select(literal_column("rowid"))
            .select_from(text("case_search_fts"))
            .where(text("case_search_fts MATCH :fts").bindparams(fts=fts))
        )
    phrases = [col(CaseSearch.body).like(_like(p), escape="\\") for p in query.phrases]
    return and_(hit, *phrases)


async def matching(session: AsyncSession, query: Query, *, few: int = 500) -> ColumnElement[bool]:
    """A condition on ``cases.id`` that the query's matches satisfy.

    The database cannot estimate how many cases a word matches, so it may walk the
    newest cases looking for a rare word through all of them. A capped look at the index
    first tells rare from common: up to ``few`` matches are named by id (an index
    lookup); more, and the newest cases are walked (matches are dense enough).
    """
    dialect = session.get_bind().dialect.name
    hits = _hits(query, dialect)
    probe = select(CaseSearch.case_id).where(hits).limit(few + 1)
    if dialect == "postgresql":
        # With a LIMIT the planner prefers reading the table in order and testing each
        # row's (large, compressed) tsvector; the GIN index answers in milliseconds.
        conn = await session.connection()
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        ids = (await session.exec(probe)).all()
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = on")
    else:
        ids = (await session.exec(probe)).all()
    if len(ids) <= few:
        return col(Case.id).in_(list(ids))
    return col(Case.id).in_(select(CaseSearch.case_id).where(hits))


# --- the index -----------------------------------------------------------------------


def document(case: Case, transcripts: Iterable[Transcript]) -> tuple[str, str]:
    """(body, tokens) for one case."""
    parts = [str(getattr(case, name) or "") for name in INDEXED_FIELDS]
    parts.extend(t.text for t in transcripts)
    body = normalize("\n".join(p for p in parts if p))
    terms: set[str] = set()
    for part in parts:
        terms |= index_terms(part)
    return body, " ".join(sorted(terms))


async def _latest_transcripts(
    session: AsyncSession, case_ids: Sequence[int]
) -> dict[int, list[Transcript]]:
    by_case: dict[int, list[Transcript]] = {}
    for t in (await latest_transcripts(session, case_ids)).values():
        by_case.setdefault(t.case_id, []).append(t)
    return by_case


async def index_cases(session: AsyncSession, case_ids: Sequence[int]) -> None:
    """(Re)index these cases in the caller's transaction."""
    if not case_ids:
        return
    cases = (await session.exec(select(Case).where(col(Case.id).in_(case_ids)))).all()
    transcripts = await _latest_transcripts(session, case_ids)
    newest = dict(
        (
            await session.exec(
                select(Transcript.case_id, func.max(Transcript.id))
                .where(col(Transcript.case_id).in_(case_ids))
                .group_by(col(Transcript.case_id))
            )
        ).all()
    )
    dialect = session.get_bind().dialect.name
    now = utcnow()
    rows = []
    for case in cases:
        assert case.id is not None
        body, tokens = document(case, transcripts.get(case.id, []))
        rows.append(
            {
                "case_id": case.id,
                "body": body,
                "tokens": tokens,
                "transcript_id": int(newest.get(case.id) or 0),
                "indexed_at": now,
            }
        )
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CaseSearch)
    statement = statement.on_conflict_do_update(
        index_elements=["case_id"],
        set_={
            "body": statement.excluded.body,
            "tokens": statement.excluded.tokens,
            "transcript_id": statement.excluded.transcript_id,
            "indexed_at": statement.excluded.indexed_at,
        },
    )
    conn = await session.connection()
    await conn.execute(statement, rows)


class SearchIndex:
    """Keeps ``case_search`` in step with cases and transcripts written anywhere (other
    processes included) by catching up before a search."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = asyncio.Lock()
        self._case_mark = 0
        self._transcript_mark = 0
        self._last = -_CATCH_UP_EVERY

    async def catch_up(self) -> int:
        """Index what changed since the last catch-up; returns how many cases."""
        done = 0
        async with self._lock:
            if time.monotonic() - self._last < _CATCH_UP_EVERY:
                return 0
            self._last = time.monotonic()
            while True:
                async with self.db.session() as s:
                    stale = await self._stale(s)
                    await index_cases(s, stale)
                done += len(stale)
                if len(stale) < _BATCH:
                    return done

    async def _stale(self, s: AsyncSession) -> list[int]:
        case_low = max(0, self._case_mark - _LOOK_BACK)
        fresh = (
            await s.exec(
                select(Case.id)
                .outerjoin(CaseSearch, col(CaseSearch.case_id) == col(Case.id))
                .where(col(Case.id) > _inline(case_low), col(CaseSearch.case_id).is_(None))
                .order_by(col(Case.id))
                .limit(_BATCH)
            )
        ).all()
        transcript_low = max(0, self._transcript_mark - _LOOK_BACK)
        newer = (
            await s.exec(
                select(Transcript.case_id, func.max(Transcript.id))
                .outerjoin(CaseSearch, col(CaseSearch.case_id) == col(Transcript.case_id))
                .where(
                    col(Transcript.id) > _inline(transcript_low),
                    or_(
                        col(CaseSearch.case_id).is_(None),
                        col(Transcript.id) > col(CaseSearch.transcript_id),
                    ),
                )
                .group_by(col(Transcript.case_id))
                .limit(_BATCH)
            )
        ).all()
        stale = sorted({int(c) for c in fresh if c is not None} | {int(c) for c, _ in newer})
        if len(fresh) < _BATCH:
            top = (await s.exec(select(func.max(Case.id)))).one()
            self._case_mark = max(self._case_mark, int(top or 0))
        if len(newer) < _BATCH:
            top = (await s.exec(select(func.max(Transcript.id)))).one()
            self._transcript_mark = max(self._transcript_mark, int(top or 0))
        return stale[:_BATCH]
