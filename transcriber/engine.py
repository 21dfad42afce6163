"""The transcriber: one loaded model, reused for every file."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from transcriber import models
from transcriber.errors import ModelNotFound, TranscriptionError
from transcriber.result import Segment, Transcript

AudioInput = str | os.PathLike[str] | np.ndarray


class Transcriber:
    """A loaded speech model. Thread-safe: calls are serialised by one lock."""

    def __init__(self, model: Any, model_id: str) -> None:
        self._model = model
        self.model_id = model_id
        self._lock = threading.Lock()

    def transcribe(self, audio: AudioInput, language: str | None = None) -> Transcript:
        from faster_whisper.audio import decode_audio

        if isinstance(audio, np.ndarray):
            samples = audio.astype(np.float32)
        else:
            path = Path(audio)
            if not path.is_file():
                raise TranscriptionError(f"{path}: no such file")
            try:
                samples = decode_audio(str(path), sampling_rate=16000)
            except Exception as exc:  # PyAV raises many types for bad input
                raise TranscriptionError(f"{path}: cannot decode audio ({exc})") from exc
        if samples.size == 0:
            raise TranscriptionError("no audio samples to transcribe")
        lang = None if language in (None, "", "auto") else language
        with self._lock:
            try:
                segments_iter, info = self._model.transcribe(
                    samples,
                    language=lang,
                    beam_size=5,
                    vad_filter=True,
                    condition_on_previous_text=False,
                )
                segments = tuple(
                    Segment(
                        start=round(s.start, 3),
                        end=round(s.end, 3),
                        text=s.text.strip(),
                        avg_logprob=s.avg_logprob,
                        no_speech_prob=s.no_speech_prob,
                    )
                    for s in segments_iter
                )
            except Exception as exc:
                raise TranscriptionError(f"transcription failed: {exc}") from exc
        return Transcript(
            language=info.language,
            duration=round(samples.size / 16000, 3),
            model=self.model_id,
            segments=segments,
        )


def load(
    model: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
) -> Transcriber:
    """Load a Whisper model once; see ``transcriber.models.resolve`` for ``model``."""
    from faster_whisper import WhisperModel

    where = models.resolve(model)
    threads = cpu_threads or os.cpu_count() or 1
    try:
        whisper = WhisperModel(where, device=device, compute_type=compute_type, cpu_threads=threads)
    except Exception as exc:
        raise ModelNotFound(f"cannot load model {model or models.BUNDLED_BASE!r}: {exc}") from exc
    name = str(model) if model is not None else models.BUNDLED_BASE
    return Transcriber(whisper, f"faster-whisper:{name}:{compute_type}")
