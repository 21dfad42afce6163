"""Test speech made on the spot with espeak-ng, shaped with sox like a telephone line.

Every helper returns the path it wrote. Voices: ``en-us`` / ``en-gb`` for English,
``cmn-latn-pinyin`` for Mandarin (it reads tone-numbered pinyin: ``ni3 hao3``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def require(program: str) -> str:
    found = shutil.which(program)
    if found is None:
        raise RuntimeError(f"{program} is not installed: run `make test`, which installs it")
    return found


def speak(text: str, out: Path, *, voice: str = "en-us", speed: int = 150) -> Path:
    """espeak-ng's own output: 22.05 kHz mono 16-bit PCM WAV."""
    subprocess.run(
        [require("espeak-ng"), "-v", voice, "-s", str(speed), "-w", str(out), text],
        check=True,
        capture_output=True,
    )
    return out


def convert(src: Path, out: Path, *, rate: int = 8000, channels: int = 1, encoding: str = "signed-integer", bits: int = 16, pad: tuple[float, float] = (0.0, 0.0)) -> Path:
    """Resample/re-encode with sox. ``encoding``: signed-integer, u-law, a-law."""
    args = [require("sox"), str(src), "-r", str(rate), "-c", str(channels), "-e", encoding, "-b", str(bits), str(out)]
    if pad != (0.0, 0.0):
        args += ["pad", str(pad[0]), str(pad[1])]
    subprocess.run(args, check=True, capture_output=True)
    return out


def phone_speech(text: str, out: Path, *, voice: str = "en-us", encoding: str = "signed-integer", rate: int = 8000) -> Path:
    """Speech as a PBX would record it: 8 kHz mono, 16-bit PCM (or u-law/a-law, 8-bit)."""
    raw = out.with_suffix(".espeak.wav")
    speak(text, raw, voice=voice)
    bits = 8 if encoding in {"u-law", "a-law"} else 16
    convert(raw, out, rate=rate, encoding=encoding, bits=bits)
    raw.unlink()
    return out


def tone(out: Path, *, seconds: float, kind: str = "silence", rate: int = 8000) -> Path:
    """30 s of silence, white noise or a ringback tone (440+480 Hz, 2 s on / 4 s off)."""
    sox = require("sox")
    base = [sox, "-n", "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(out)]
    if kind == "silence":
        args = [*base, "trim", "0", str(seconds)]
    elif kind == "noise":
        args = [*base, "synth", str(seconds), "whitenoise", "vol", "0.3"]
    elif kind == "ringback":
        # sox has no cadence; build one 6 s period and repeat it.
        period = out.with_suffix(".period.wav")
        subprocess.run(
            [sox, "-n", "-r", str(rate), "-c", "1", "-b", "16", "-e", "signed-integer", str(period),
             "synth", "2", "sine", "440", "sine", "480", "remix", "-", "pad", "0", "4", "vol", "0.5"],
            check=True, capture_output=True,
        )
        repeats = max(0, int(seconds // 6) - 1)
        subprocess.run([sox, str(period), str(out), "repeat", str(repeats), "trim", "0", str(seconds)],
                       check=True, capture_output=True)
        period.unlink()
        return out
    else:
        raise ValueError(kind)
    subprocess.run(args, check=True, capture_output=True)
    return out
