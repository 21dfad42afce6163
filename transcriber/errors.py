"""Errors raised by the transcriber.

    TranscriptionError      the audio could not be transcribed
     ├── AudioError          the input is not usable audio (not audio, empty, too long)
     ├── ModelNotFound       the model named or pointed to is not on this machine
     └── ModelFailed         the model raised on audio that decoded fine (out of memory,
                             a CTranslate2 error, a damaged model file): another try may
                             pass; the model's own exception is its ``__cause__``

Every message says what was wrong and, where there is one, what to do about it; none
needs a traceback to be understood.
"""

from __future__ import annotations


class TranscriptionError(Exception):
    """The audio could not be transcribed (not audio, empty, unreadable, model failure)."""


class AudioError(TranscriptionError):
    """The input is not audio we can use: not audio at all, no samples, corrupt, too long."""


class ModelNotFound(TranscriptionError):
    """The model named or pointed to is not available on this machine."""


class ModelFailed(TranscriptionError):
    """The model raised while decoding usable audio (``MemoryError``, a CTranslate2
    ``RuntimeError``, a damaged model file). Not the audio's fault: a service retries
    it; the model's own exception, with its traceback, is ``__cause__``."""
