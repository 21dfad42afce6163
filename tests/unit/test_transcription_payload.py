"""What a ``transcribe`` job may carry: hot words of its own, the case's names."""

from __future__ import annotations

import pytest

from hotline.store.tables import Case
from hotline.transcription import (
    MAX_JOB_HOTWORDS,
    BadPayload,
    case_hotwords,
    transcribe_payload,
)


def test_a_payload_carries_its_hot_words_cleaned() -> None:
    assert transcribe_payload(7) == {"recording_id": 7}
    payload = transcribe_payload(7, hotwords=[" 宏达机械厂 ", "", "宏达机械厂", "七里营  镇"])
    assert payload == {"recording_id": 7, "hotwords": ["宏达机械厂", "七里营 镇"]}


@pytest.mark.parametrize(
    "bad", ["宏达机械厂", [1, 2], [f"名{i}" for i in range(MAX_JOB_HOTWORDS + 1)]]
)
def test_hot_words_that_are_not_a_short_list_of_texts_are_refused(bad: object) -> None:
    with pytest.raises(BadPayload):
        transcribe_payload(7, hotwords=bad)  # type: ignore[arg-type]


def test_the_case_names_its_entity_and_address_not_its_reporter() -> None:
    case = Case(
        number="HL-2026-000001",
        entity_name="宏达机械厂",
        entity_address="新乡县七里营镇工业路十八号",
        reporter_name="王建国",
    )
    assert case_hotwords(case) == ("宏达机械厂", "新乡县七里营镇工业路十八号")
    assert case_hotwords(Case(number="HL-2026-000002")) == ()
