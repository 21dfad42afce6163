"""Speech to text for telephone recordings, offline. Usable on its own:

    import transcriber
    t = transcriber.load()                      # bundled multilingual Whisper base, int8
    result = t.transcribe("call.wav", language="zh")
    print(result.text)

or ``python -m transcriber FILE``. This package imports nothing from ``hotline``.
"""

from __future__ import annotations

from transcriber.errors import ModelNotFound, TranscriptionError
from transcriber.result import Segment, Transcript
from transcriber.engine import Transcriber, load

__all__ = ["ModelNotFound", "Segment", "Transcriber", "Transcript", "TranscriptionError", "load"]
