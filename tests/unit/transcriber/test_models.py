"""Which backend loads what, and how a missing model is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcriber.errors import ModelNotFound
from transcriber.models import FASTER_WHISPER, OPENAI_WHISPER, locate


def test_a_ct2_directory_is_faster_whisper(tmp_path: Path) -> None:
    (tmp_path / "model.bin").write_bytes(b"x")
    source = locate(tmp_path)
    assert source.backend == FASTER_WHISPER and source.local and source.location == str(tmp_path)
    with pytest.raises(ModelNotFound, match=r"\.pt checkpoint"):
        locate(tmp_path, OPENAI_WHISPER)


def test_a_pt_file_is_openai_whisper(tmp_path: Path) -> None:
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"x")
    assert locate(checkpoint).backend == OPENAI_WHISPER
    with pytest.raises(ModelNotFound, match="directory"):
        locate(checkpoint, FASTER_WHISPER)


def test_missing_paths_and_empty_directories_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="no model at"):
        locate(tmp_path / "nowhere" / "model")
    with pytest.raises(ModelNotFound, match=r"no model\.bin"):
        locate(tmp_path)
    with pytest.raises(ModelNotFound, match="unknown backend"):
        locate("base", "whisper.cpp")  # type: ignore[arg-type]


def test_a_name_is_left_to_the_backend_to_download() -> None:
    source = locate("small")
    assert source.backend == FASTER_WHISPER and not source.local and source.location == "small"
    assert locate("small", OPENAI_WHISPER).backend == OPENAI_WHISPER
