"""Test speech made on the spot with espeak-ng, shaped with sox like a telephone line.

Every helper returns the path it wrote. Voices: ``en-us`` / ``en-gb`` for English,
``cmn-latn-pinyin`` for Mandarin (it reads tone-numbered pinyin: ``ni3 hao3``).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
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


def convert(
    src: Path,
    out: Path,
    *,
    rate: int = 8000,
    channels: int = 1,
    encoding: str = "signed-integer",
    bits: int = 16,
    pad: tuple[float, float] = (0.0, 0.0),
) -> Path:
    """Resample/re-encode with sox. ``encoding``: signed-integer, u-law, a-law."""
    args = [
        require("sox"),
        str(src),
        "-r",
        str(rate),
        "-c",
        str(channels),
        "-e",
        encoding,
        "-b",
        str(bits),
        str(out),
    ]
    if pad != (0.0, 0.0):
        args += ["pad", str(pad[0]), str(pad[1])]
    subprocess.run(args, check=True, capture_output=True)
    return out


def phone_speech(
    text: str,
    out: Path,
    *,
    voice: str = "en-us",
    encoding: str = "signed-integer",
    rate: int = 8000,
) -> Path:
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
            [
                sox,
                "-n",
                "-r",
                str(rate),
                "-c",
                "1",
                "-b",
                "16",
                "-e",
                "signed-integer",
                str(period),
                "synth",
                "2",
                "sine",
                "440",
                "sine",
                "480",
                "remix",
                "-",
                "pad",
                "0",
                "4",
                "vol",
                "0.5",
            ],
            check=True,
            capture_output=True,
        )
        repeats = max(0, int(seconds // 6) - 1)
        subprocess.run(
            [sox, str(period), str(out), "repeat", str(repeats), "trim", "0", str(seconds)],
            check=True,
            capture_output=True,
        )
        period.unlink()
        return out
    else:
        raise ValueError(kind)
    subprocess.run(args, check=True, capture_output=True)
    return out


def conversation(
    turns: Sequence[tuple[str, str]],
    out: Path,
    *,
    voices: Mapping[str, str],
    stereo: Sequence[str] | None = None,
    rate: int = 8000,
    encoding: str = "signed-integer",
    gap: float = 0.8,
    speed: int = 150,
) -> Path:
    """A call from ``(speaker, text)`` turns, one after another with ``gap`` seconds between.

    ``voices`` maps each speaker to an espeak-ng voice. Mono by default (speakers mixed,
    as MixMonitor records without options); ``stereo=("caller", "operator")`` puts each
    named speaker on its own channel, left then right, silent while the other talks.
    """
    sox = require("sox")
    work = out.with_suffix(".parts")
    work.mkdir(exist_ok=True)
    channels = list(stereo) if stereo else [None]
    tracks: dict[str | None, list[str]] = {c: [] for c in channels}
    for i, (speaker, text) in enumerate(turns):
        raw = speak(text, work / f"{i:03d}.raw.wav", voice=voices[speaker], speed=speed)
        padded = work / f"{i:03d}.wav"
        # -R everywhere: sox dithers what an effect wrote, with a new seed on each run
        # unless told; the same script must give the same file (a call of espeak
        # speech at 8 kHz is near where base starts to mishear it).
        subprocess.run(
            [sox, "-R", str(raw), str(padded), "pad", "0", str(gap)],
            check=True,
            capture_output=True,
        )
        hushed = work / f"{i:03d}.silent.wav"
        subprocess.run(
            [sox, "-R", str(padded), str(hushed), "vol", "0"], check=True, capture_output=True
        )
        for channel in channels:
            tracks[channel].append(str(padded if channel in (None, speaker) else hushed))
    joined = []
    for channel in channels:
        track = work / f"track-{channels.index(channel)}.wav"
        subprocess.run([sox, "-R", *tracks[channel], str(track)], check=True, capture_output=True)
        joined.append(str(track))
    bits = 8 if encoding in {"u-law", "a-law"} else 16
    merge = ["-M", *joined] if len(joined) > 1 else joined
    subprocess.run(
        # -R: the same dither every run, so the same script gives the same file.
        [sox, "-R", *merge, "-r", str(rate), "-e", encoding, "-b", str(bits), str(out)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(work)
    return out


def hold_music(out: Path, *, seconds: float, rate: int = 8000) -> Path:
    """Hold music: plucked chords (I-vi-IV-V in C), half a second each, looped, with reverb."""
    sox = require("sox")
    chords = [("C4", "E4", "G4"), ("A3", "C4", "E4"), ("F3", "A3", "C4"), ("G3", "B3", "D4")]
    work = out.with_suffix(".chords")
    work.mkdir(exist_ok=True)
    parts = []
    for i, chord in enumerate(chords * 2):
        part = work / f"{i}.wav"
        notes = [arg for note in chord for arg in ("pluck", note)]
        subprocess.run(
            [
                sox,
                "-n",
                "-r",
                str(rate),
                "-c",
                "1",
                "-b",
                "16",
                str(part),
                "synth",
                "0.5",
                *notes,
                "remix",
                "-",
            ],
            check=True,
            capture_output=True,
        )
        parts.append(str(part))
    phrase = work / "phrase.wav"
    subprocess.run(
        [sox, *parts, str(phrase), "reverb", "40", "vol", "0.7"], check=True, capture_output=True
    )
    repeats = max(0, int(seconds // 4))
    subprocess.run(
        [
            sox,
            str(phrase),
            "-e",
            "signed-integer",
            str(out),
            "repeat",
            str(repeats),
            "trim",
            "0",
            str(seconds),
        ],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(work)
    return out
