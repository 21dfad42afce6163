"""The API's request and response bodies. The OpenAPI document is generated from these
models and the routes that name them, and every JSON response is serialised through its
model, so the document and the service cannot drift apart."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hotline.casework import Category
from transcriber import languages

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Out(BaseModel):
    """Response bodies: keys the model does not name are dropped, never leaked."""

    model_config = ConfigDict(extra="ignore")


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    """Query strings: unknown parameters are ignored, as browsers and proxies add some."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class ErrorBody(Out):
    error: str
    details: list[dict[str, Any]] | None = None


# --- session and account ----------------------------------------------------------------


class LoginIn(In):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(Out):
    username: str
    display_name: str
    role: str
    language: str
    must_change_password: bool


class SessionOut(Out):
    kind: Literal["user", "token"]
    user: UserOut | None
    role: str
    roles: list[str] = Field(description="the role and any granted beside it")
    permissions: list[str] = Field(description="what all of those roles allow")
    csrf_token: str | None = Field(
        description="send as X-CSRF-Token with every unsafe request made with the cookie"
    )


class AccountIn(In):
    language: Literal["", "zh", "en"] = Field(description="empty: follow the browser")


class PasswordIn(In):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


class OkOut(Out):
    ok: bool = True


# --- health ---------------------------------------------------------------------------


class HealthOut(Out):
    status: Literal["ok", "degraded", "error"]
    database: dict[str, Any] | None = Field(None, description="signed-in callers only")
    jobs: dict[str, Any] | None = None
    evidence: dict[str, Any] | None = None
    sources: dict[str, Any] | None = Field(
        None, description="call sources (sip, asterisk): link, registration, login state"
    )
    incidents: dict[str, Any] | None = Field(
        None, description="unrecorded calls, short recordings, sources down: last 24 hours"
    )
    checkpoints: dict[str, Any] | None = Field(
        None,
        description="signed checkpoints of the audit chain: interval, timestamp authority, "
        "the newest one",
    )
    signing_key: dict[str, Any] | None = Field(
        None,
        description="the installation's Ed25519 public key (PEM) and the SHA-256 of its "
        "DER form, to check against the fingerprint the agency publishes",
    )


# --- live calls -----------------------------------------------------------------------


class IntakeOut(Out):
    call_id: str
    operator: str
    fields: dict[str, Any]
    case_id: int | None


class LiveCallOut(Out):
    call_id: str
    source: str
    caller: str
    caller_masked: bool
    callee: str
    state: Literal["ringing", "answered", "ended"]
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    recording: bool = Field(description="a recording is running now")
    recorded: bool
    unrecorded: bool = Field(description="answered and nothing records it: alarm")
    incidents: list[str]
    intake: IntakeOut | None = None


class LiveCallsOut(Out):
    now: datetime
    calls: list[LiveCallOut]


# --- cases ----------------------------------------------------------------------------


class CallerOut(Out):
    number: str
    e164: str | None
    name: str
    masked: bool


class CallOut(Out):
    source: str
    callee: str
    state: str
    started_at: datetime | None
    answered_at: datetime | None
    ended_at: datetime | None


class NoticeOut(Out):
    """Whether the caller was told the call is recorded (art. 9), as the recording shows."""

    state: Literal["played", "cut_short", "not_all_sent", "none", "recorded", "not_recorded"]
    heard_seconds: float | None = Field(None, description="cut_short: how much was played")
    seconds: float | None = Field(None, description="cut_short: the whole notice")
    unsent_seconds: float | None = Field(
        None, description="notice audio the socket could not send: recorded, not heard"
    )
    late_seconds: float | None = Field(
        None, description="Asterisk: how long after answer the recording began"
    )


class RecordingOut(Out):
    id: int
    sha256: str
    duration: float
    content_type: str
    codec: str
    sample_rate: int
    channels: int
    size: int
    sequence: int
    leg: str
    sealed_at: datetime | None
    notice: NoticeOut | None = Field(
        None, description="what the recording shows of the recording notice; null: nothing"
    )


class JobOut(Out):
    id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None


class WordOut(Out):
    """A word and when it was said, in seconds on the case's timeline."""

    start: float
    end: float
    word: str
    probability: float | None = Field(
        None, description="the model's confidence; null where a correction changed the word"
    )


class SegmentOut(Out):
    index: int = 0
    start: float
    end: float
    text: str
    speaker: str | None = None
    recording_id: int | None = None
    edited: bool = False
    avg_logprob: float | None = None
    no_speech_prob: float | None = None
    words: list[WordOut] = Field(
        default_factory=list,
        description="the segment's words, which together spell its text; empty for "
        "transcripts made before words were timed",
    )


class TranscriptInfo(Out):
    version: int
    source: str
    author: str
    language: str
    model: str
    created_at: datetime | None


class DroppedOut(Out):
    """A segment the model produced that the guards removed."""

    start: float
    end: float
    text: str
    reason: str = Field(
        description="`no-speech` (the model itself marked it), `silence` (nothing audible "
        "there), `hallucination` (a known invented phrase), `prompt-echo`, `hotword-echo`, "
        "`repetition` (a loop), `empty`"
    )
    speaker: str | None = None
    recording_id: int | None = None


class DropReasonOut(Out):
    segments: int
    seconds: float


class RerunInfoOut(Out):
    language: str | None = Field(description="as asked; null: the configured one")
    model: str | None = Field(description="as asked; null: the configured one")
    requested_by: str


class TranscriptReportOut(Out):
    """What the machine kept and dropped, for the transcript as shown (all its
    recordings). Empty for transcripts made before drops were reported."""

    needs_notice: bool = Field(
        description="nothing was kept, or the guards dropped more speech time than they "
        "kept: the text is not the whole call"
    )
    kept_segments: int
    kept_seconds: float
    dropped_segments: int
    dropped_seconds: float
    reasons: dict[str, DropReasonOut] = Field(description="per drop reason")
    voiced_seconds: float | None = Field(
        description="seconds of the audio in which voice activity detection heard voice; "
        "measured when `needs_notice`, else null"
    )
    duration: float = Field(description="seconds of audio transcribed")
    dropped: list[DroppedOut]
    rerun: RerunInfoOut | None = Field(
        None, description="set when this version is a handler's re-run"
    )


class TranscriptOut(TranscriptInfo):
    text: str
    segments: list[SegmentOut]
    report: TranscriptReportOut | None = Field(
        None, description="null for transcripts made before drops were reported"
    )


class RerunIn(In):
    language: str | None = Field(
        None,
        max_length=8,
        description="`zh`, `en`, another Whisper code, or `auto`; null: HOTLINE_LANGUAGE",
    )
    model: str | None = Field(
        None,
        max_length=255,
        description="one of the models offered (`HOTLINE_WHISPER_MODEL`, `bundled-base`, "
        "`bundled-tiny.en`); null: HOTLINE_WHISPER_MODEL",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        return languages.check(value)


class RerunOut(Out):
    version: int = Field(description="the version the re-run will write")
    recording_ids: list[int]
    jobs: list[int] = Field(description="the `transcribe` jobs queued")
    language: str | None
    model: str | None


class PreservationOut(Out):
    reason: Literal["party_objection", "obstruction", "mass_incident", "other"] = Field(
        description="art. 20: the party objected, complained or petitioned; officers "
        "obstructed or assaulted; a mass or sudden incident; other (the note says why)"
    )
    note: str
    marked_at: datetime | None
    marked_by: str


class CaseFieldsOut(Out):
    reporter_name: str
    reporter_contact: str
    reporter_anonymous: bool
    wants_feedback: bool
    entity_name: str
    entity_credit_code: str
    entity_address: str
    entity_industry: str
    category: str
    description: str
    evidence_leads: str
    operator_notes: str
    operator: str
    handler: str
    confidentiality: str
    preservation: PreservationOut | None = Field(
        description="the long-term preservation flag (art. 20); null when not flagged"
    )
    long_term: bool = Field(description="whether `preservation` is set (the older name)")
    long_term_reason: str = Field(description="the flag's note or reason (the older name)")
    external_number: str
    external_status: str
    external_stage: str


class CaseSummary(CaseFieldsOut):
    id: int
    number: str
    status: str
    caller: CallerOut
    created_at: datetime
    updated_at: datetime
    forwarded_at: datetime | None
    call: CallOut
    recording: RecordingOut | None
    recordings: list[RecordingOut]
    transcript: TranscriptInfo | None = Field(description="which version; text on the case")
    jobs: list[JobOut]


class IncidentOut(Out):
    id: int
    kind: str
    at: datetime
    detail: str


class CaseOut(CaseSummary):
    transcript: TranscriptOut | None = Field(
        description="the latest version; null for roles that may not read content"
    )
    incidents: list[IncidentOut] = Field(
        default_factory=list,
        description="what went wrong with the call's recording: recording.incomplete "
        "(short, unusable, begun late: notice not recorded), call.unrecorded, …",
    )


class CaseListOut(Out):
    cases: list[CaseSummary]
    next_before: int | None = Field(description="pass as ?before= for the next page")


class CasesQuery(Query):
    q: str | None = Field(None, max_length=200, description="words; Chinese needs no spaces")
    status: str | None = Field(None, max_length=16)
    category: Category | None = None
    operator: str | None = Field(None, max_length=64)
    since: date | None = Field(None, description="created on or after (local date)")
    until: date | None = Field(None, description="created on or before (local date)")
    preserved: bool | None = Field(
        None, description="true: only cases flagged for long-term preservation; false: none"
    )

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        # Only YYYY-MM-DD: pydantic would also read a number as days since 1970.
        if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
            raise ValueError("expected a date as YYYY-MM-DD")
        return value

    before: int | None = Field(None, ge=1, le=2**62, description="case id to page from")
    limit: int = Field(50, ge=1, le=200)


class UnmaskIn(In):
    reason: str = Field(min_length=2, max_length=500, description="kept in the audit trail")


class UnmaskOut(Out):
    caller: CallerOut
    reporter_name: str
    reporter_contact: str


class PreservationIn(In):
    reason: Literal["party_objection", "obstruction", "mass_incident", "other"]
    note: str = Field("", max_length=500, description="required with `other`: why")


class LiftIn(In):
    reason: str = Field(min_length=2, max_length=500, description="kept in the audit trail")


class PreservationStateOut(Out):
    number: str
    preservation: PreservationOut | None
    changed: bool = Field(description="false: the case was flagged like this already")


class RetentionQuery(Query):
    within: int = Field(90, ge=0, le=36500, description="'soon': ends within this many days")
    today: date | None = Field(None, description="report as of this local date (default today)")

    @field_validator("today", mode="before")
    @classmethod
    def _iso_date(cls, value: object) -> object:
        if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
            raise ValueError("expected a date as YYYY-MM-DD")
        return value


class RetentionEntryOut(Out):
    case_id: int
    number: str
    category: str
    opened: date
    years: int
    ends: date
    state: Literal["due", "soon", "preserved", "kept"]
    days_left: int = Field(description="negative: the period ended that many days ago")
    preservation_reason: str | None
    archived_on: list[str] = Field(description="disc volumes (labels) holding the case")


class RetentionCountsOut(Out):
    due: int
    soon: int
    preserved: int
    kept: int
    total: int


class RetentionOut(Out):
    today: date
    within_days: int
    counts: RetentionCountsOut
    due: list[RetentionEntryOut]
    soon: list[RetentionEntryOut]
    preserved: list[RetentionEntryOut]
    deletes_nothing: bool = Field(
        description="always true: the report informs; hotline deletes no evidence (art. 21)"
    )


class RecordingQuery(Query):
    recording: int | None = Field(None, ge=1, le=2**62, description="which, if several")
    download: bool = Field(False, description="as an attachment")


class TranscriptQuery(Query):
    version: int | None = Field(None, ge=1, le=1_000_000)


class VersionOut(Out):
    version: int
    source: str
    author: str
    created_at: datetime
    recording_ids: list[int]


class VersionsOut(Out):
    versions: list[VersionOut]


class DiffQuery(Query):
    model_config = ConfigDict(populate_by_name=True)

    from_version: int = Field(alias="from", ge=1, le=1_000_000)
    to_version: int = Field(alias="to", ge=1, le=1_000_000)


class SegmentDiffOut(Out):
    index: int
    start: float
    end: float
    speaker_before: str | None
    speaker_after: str | None
    ops: list[tuple[Literal["equal", "delete", "insert"], str]]


class DiffOut(Out):
    from_version: int
    to_version: int
    segments: list[SegmentDiffOut]


# --- audit ----------------------------------------------------------------------------


class AuditEventOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    case_id: int | None
    details: dict[str, Any]
    text: str = Field(description="what happened, in words, in the reader's language")
    who: str = Field(description="who did it, in words (a person by display name)")


class AuditOut(Out):
    events: list[AuditEventOut]
    next_before: int | None


class AuditQuery(Query):
    action: str | None = Field(None, max_length=64)
    actor: str | None = Field(None, max_length=128)
    case_id: int | None = Field(None, ge=1, le=2**62)
    before: int | None = Field(None, ge=1, le=2**62)
    limit: int = Field(100, ge=1, le=500)
