"""One case, several recordings: the transcript on one timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hotline.cases import CaseView, case_json, notice_json
from hotline.store.tables import Call, Case, Recording, Transcript

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def _rec(id: int, leg: str, sequence: int, duration: float) -> Recording:
    return Recording(
        id=id,
        sha256=f"{id:064x}",
        size=1,
        stored_path="x",
        content_type="audio/wav",
        codec="pcm_s16le",
        sample_rate=8000,
        channels=1,
        duration=duration,
        call_id=1,
        sequence=sequence,
        leg=leg,
    )


def _tr(recording_id: int, text: str, start: float, version: int = 1) -> Transcript:
    return Transcript(
        id=recording_id * 10 + version,
        recording_id=recording_id,
        case_id=1,
        version=version,
        source="machine",
        text=text,
        created_at=T0 + timedelta(seconds=recording_id + version),
        segments=[
            {
                "start": start,
                "end": start + 1.0,
                "text": text,
                "speaker": None,
                "words": [{"start": start, "end": start + 1.0, "word": text, "probability": 0.9}],
            }
        ],
    )


def _view(recs: list[Recording], trs: list[Transcript]) -> CaseView:
    case = Case(id=1, number="HL-2026-000001", call_id=1, created_at=T0, updated_at=T0)
    call = Call(id=1, source="asterisk", external_id="1.0", started_at=T0)
    return CaseView(case, call, recs, trs, [])


def test_the_mix_is_read_and_its_legs_are_not() -> None:
    recs = [_rec(1, "mix", 0, 30), _rec(2, "caller", 0, 30), _rec(3, "message", 1, 12)]
    trs = [_tr(1, "from the mix", 2.0), _tr(2, "from the caller leg", 2.5), _tr(3, "msg", 0.5)]
    body = case_json(_view(recs, trs))["transcript"]
    assert body["text"] == "from the mix"
    assert [s["recording_id"] for s in body["segments"]] == [1]


def test_legs_are_read_when_there_is_no_mix_and_sequences_follow_each_other() -> None:
    recs = [_rec(1, "caller", 0, 20), _rec(2, "operator", 0, 20), _rec(3, "mix", 1, 10)]
    trs = [
        _tr(2, "operator speaks", 1.0),
        _tr(1, "caller speaks", 3.0),
        _tr(3, "after transfer", 2.0),
    ]
    body = case_json(_view(recs, trs))["transcript"]
    starts = [(s["recording_id"], s["start"]) for s in body["segments"]]
    assert starts == [(2, 1.0), (1, 3.0), (3, 22.0)]  # the transfer's part starts at 20 s
    # Its words move with it; the stored transcript keeps the recording's own clock.
    assert body["segments"][2]["words"] == [
        {"start": 22.0, "end": 23.0, "word": "after transfer", "probability": 0.9}
    ]
    assert trs[2].segments[0]["words"][0]["start"] == 2.0


def test_the_latest_version_is_shown() -> None:
    recs = [_rec(1, "mix", 0, 10)]
    corrected = _tr(1, "corrected text", 0.0, version=2)
    body = case_json(_view(recs, [corrected]))["transcript"]
    assert body["version"] == 2 and body["text"] == "corrected text"


# What a recording says of the recording notice (art. 9), from what each source writes:
# the SIP line's media session (``notice_played`` and the seconds; before it wrote
# seconds, ``notice_frames_unsent`` and the frames in ``partial (n/m frames)``) and the
# Asterisk source's completeness check (``notice_recorded``, ``late_start_seconds``).
@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"notice_played": "complete", "notice_frames_unsent": "0"}, {"state": "played"}),
        (
            {"notice_played": "complete", "notice_frames_unsent": "44"},
            {"state": "not_all_sent", "unsent_seconds": 0.88},
        ),
        (
            {"notice_played": "partial (120/354 frames)", "notice_frames_unsent": "0"},
            {"state": "cut_short", "heard_seconds": 2.4, "seconds": 7.08, "unsent_seconds": 0.0},
        ),
        (  # what the line writes now: its seconds, not frames, are read
            {
                "notice_played": "partial (120/354 frames)",
                "notice_frames_unsent": "2",
                "notice_seconds": "7.10",
                "notice_played_seconds": "2.42",
                "notice_unsent_seconds": "0.04",
            },
            {"state": "cut_short", "heard_seconds": 2.42, "seconds": 7.1, "unsent_seconds": 0.04},
        ),
        (
            {
                "notice_played": "complete",
                "notice_seconds": "5.14",
                "notice_played_seconds": "5.14",
                "notice_unsent_seconds": "0.60",
            },
            {"state": "not_all_sent", "unsent_seconds": 0.6},
        ),
        (  # seconds that are not numbers: the frames still say it
            {
                "notice_played": "partial (50/257 frames)",
                "notice_seconds": "?",
                "notice_played_seconds": "",
                "notice_unsent_seconds": "x",
            },
            {"state": "cut_short", "heard_seconds": 1.0, "seconds": 5.14, "unsent_seconds": 0.0},
        ),
        ({"notice_played": "none", "notice_frames_unsent": "0"}, {"state": "none"}),
        (  # written before unsent frames were counted
            {"notice_played": "complete"},
            {"state": "played"},
        ),
        ({"notice_played": "complete", "notice_frames_unsent": "many"}, {"state": "played"}),
        ({"notice_played": "half of it"}, None),  # not a value any version writes: no guess
        (
            {"origin": "dialplan", "late_start_seconds": "0.004", "notice_recorded": "yes"},
            {"state": "recorded", "late_seconds": 0.0},
        ),
        (
            {"origin": "hotline", "late_start_seconds": "3.090", "notice_recorded": "no"},
            {"state": "not_recorded", "late_seconds": 3.09},
        ),
        (
            {"origin": "hotline", "late_start_seconds": "", "notice_recorded": "no"},
            {"state": "not_recorded"},
        ),
        ({"origin": "message", "late_start_seconds": "16.170", "notice_recorded": "no"}, None),
        ({"caller": "13800138000", "file": "call.wav"}, None),  # hotline ingest
        ({}, None),
    ],
)
def test_the_notice_as_a_recording_shows_it(
    details: dict[str, str], expected: dict[str, object] | None
) -> None:
    assert notice_json(details) == expected


def test_every_recording_in_a_case_says_what_it_holds_of_the_notice() -> None:
    sip, imported = _rec(1, "mix", 0, 30), _rec(2, "mix", 1, 12)
    sip.details = {"notice_played": "partial (50/257 frames)", "notice_frames_unsent": "3"}
    body = case_json(_view([sip, imported], []))
    assert [r["notice"] for r in body["recordings"]] == [
        {"state": "cut_short", "heard_seconds": 1.0, "seconds": 5.14, "unsent_seconds": 0.06},
        None,
    ]
    assert body["recording"]["notice"] == body["recordings"][0]["notice"]
