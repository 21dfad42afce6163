"""Speech to text for telephone recordings, offline. Usable on its own:

    import transcriber
    t = transcriber.load()                      # bundled multilingual Whisper base, int8
    result = t.transcribe("call.wav", language="zh")
    print(result.text)

or ``python -m transcriber FILE``. Owns audio decoding (``audio``; ``wav``, the one
RIFF/WAVE chunk reader, and ``g711``, the one G.711 codec, both pure and shared with
the service), model location (``models``, ``convert``), the backends (``backends``),
the guards against invented words (``guards``), speaker merging (``merge``) and output
formats (``formats``). This package imports nothing from ``hotline``.
"""

from __future__ import annotations

from transcriber.engine import Transcriber, load, with_options
from transcriber.errors import AudioError, ModelFailed, ModelNotFound, TranscriptionError
from transcriber.options import Options
from transcriber.result import Dropped, Segment, Transcript

__all__ = [
    "AudioError",
    "Dropped",
    "ModelFailed",
    "ModelNotFound",
    "Options",
    "Segment",
    "Transcriber",
    "Transcript",
    "TranscriptionError",
    "load",
    "with_options",
]
