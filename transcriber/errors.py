"""Errors raised by the transcriber."""

from __future__ import annotations


class TranscriptionError(Exception):
    """The audio could not be transcribed (not audio, empty, unreadable, model failure)."""


class ModelNotFound(TranscriptionError):
    """The model named or pointed to is not available on this machine."""
