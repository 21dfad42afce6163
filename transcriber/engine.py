"""The transcriber: one loaded model, reused for every recording.

A recording goes: decode and resample (``audio``) → one track per speaker (stereo
channels or MixMonitor legs; mono is one track) → language (given, or detected once
per recording) → the backend decodes each track, timing every word → each segment is
cleaned (Simplified Chinese, prompt echo) and guarded (no speech, hallucination
phrases, loops), its spoken digit strings written and checked (``numbers``), its words
re-cut to the cleaned text (``words``) → the tracks are merged by time (``merge``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from transcriber import guards, models, numbers, soundalike
from transcriber.audio import SAMPLE_RATE, Audio, AudioInput, load_audio
from transcriber.backends import Backend, RawSegment, Request
from transcriber.errors import ModelFailed, TranscriptionError
from transcriber.lexicon import combine
from transcriber.merge import merge_by_time
from transcriber.options import Options
from transcriber.result import Dropped, Segment, Transcript
from transcriber.wav import Float32Array
from transcriber.words import fit, on_sound

_log = logging.getLogger(__name__)

DEFAULT_SPEAKERS = ("caller", "operator")
"""Channel order of a two-channel call. MixMonitor's ``D`` option writes the audio read
from the monitored channel on the left and the audio sent to it on the right; the
hotline dialplan monitors the caller's channel, so: caller left, operator right. Its
``r()``/``t()`` legs are the same two directions as separate files: pass them as
``{"caller": r_file, "operator": t_file}``."""

Speakers = Sequence[str] | None
LegsInput = Mapping[str, AudioInput]


class Transcriber:
    """A loaded speech model. Thread-safe: calls are serialised by one lock."""

    def __init__(self, backend: Backend, options: Options | None = None) -> None:
        self._backend = backend
        self.options = options or Options()
        self.model_id = backend.model_id
        o = self.options
        self._guard = guards.Guard(
            guards.load_phrases(o.hallucinations),
            no_speech_threshold=o.no_speech_threshold,
            logprob_threshold=o.logprob_threshold,
            certain_no_speech=o.certain_no_speech,
            max_compression_ratio=o.max_compression_ratio,
        )
        self._lock = threading.Lock()

    @property
    def multilingual(self) -> bool:
        return self._backend.multilingual

    def transcribe(
        self,
        audio: AudioInput | LegsInput,
        language: str | None = None,
        speakers: Speakers = None,
        *,
        hotwords: Sequence[str] | None = None,
        extra_hotwords: Sequence[str] = (),
    ) -> Transcript:
        """Transcribe one recording.

        ``audio``: a file (any WAV a PBX writes, or anything FFmpeg reads), a float32
        16 kHz array (1-D, or ``(channels, samples)``), or a mapping ``{speaker: file}``
        of separately recorded legs (MixMonitor ``r()``/``t()``). ``language``: ``zh``,
        ``en``, another Whisper code, or ``None``/``"auto"`` to detect it once for the
        recording. ``speakers``: names for the channels of a multi-channel recording,
        in channel order (default ``caller``, ``operator``); ``()`` mixes the channels
        and labels nobody; one name labels a mono recording. ``hotwords`` replaces the
        loaded hot words for this call; ``extra_hotwords`` (the names on a case: the
        entity, its address) come before them. Mandarin also gets the lexicon
        (``Options.lexicon_zh``).
        """
        tracks = self._tracks(audio, speakers)
        duration = max(a.duration for _name, a in tracks)
        with self._lock:
            lang, probability = self._language(language, tracks)
            words = self.options.hotwords_for(
                lang, None if hotwords is None else tuple(hotwords), tuple(extra_hotwords)
            )
            lexicon = self.options.lexicon_zh if lang == "zh" else ()
            named = tuple(w for w in words if w not in lexicon)
            compared = combine(words, self.options.heard_zh) if lang == "zh" else ()
            rewrite = (
                soundalike.for_words(compared) if self.options.soundalikes and compared else None
            )
            request = Request(
                language=lang,
                prompt=self.options.prompt_for(lang),
                hotwords=words,
                options=self.options,
            )
            kept: list[list[Segment]] = []
            dropped: list[Dropped] = []
            for speaker, track in tracks:
                try:
                    raw = self._backend.decode(track.channels[0], request)
                except TranscriptionError:
                    raise
                except Exception as exc:  # the audio decoded: the model itself failed
                    raise ModelFailed(
                        f"{track.source}: the model failed: {type(exc).__name__}: {exc}"
                    ) from exc
                good, bad = self._clean(
                    raw, track.channels[0], speaker, lang, request, named, lexicon, rewrite
                )
                kept.append(good)
                dropped.extend(bad)
        result = Transcript(
            language=lang,
            duration=round(duration, 3),
            model=self.model_id,
            segments=merge_by_time(kept),
            language_probability=probability,
            dropped=tuple(sorted(dropped, key=lambda d: (d.start, d.end))),
        )
        if result.needs_notice:
            # Said beside an empty or mostly dropped transcript: was there voice at all?
            result = replace(result, voiced_seconds=voiced_seconds(tracks))
        return result

    # -- steps ---------------------------------------------------------------------

    def _tracks(
        self, audio: AudioInput | LegsInput, speakers: Speakers
    ) -> list[tuple[str | None, Audio]]:
        limit = self.options.max_duration
        if isinstance(audio, Mapping):
            if not audio:
                raise TranscriptionError("no recording legs given")
            legs = [(str(name), load_audio(leg, max_seconds=limit)) for name, leg in audio.items()]
            return [(name, Audio((a.mono(),), a.source)) for name, a in legs]
        decoded = load_audio(audio, max_seconds=limit)
        if (speakers is not None and len(speakers) == 0) or not decoded.channels_differ():
            label = speakers[0] if speakers is not None and len(speakers) == 1 else None
            return [(label, Audio((decoded.mono(),), decoded.source))]
        names = tuple(speakers) if speakers else DEFAULT_SPEAKERS
        if len(names) < len(decoded.channels):
            names = names + tuple(
                f"channel-{i + 1}" for i in range(len(names), len(decoded.channels))
            )
        return [(names[i], Audio((c,), decoded.source)) for i, c in enumerate(decoded.channels)]

    def _language(
        self, language: str | None, tracks: list[tuple[str | None, Audio]]
    ) -> tuple[str, float | None]:
        wanted = (language or "auto").strip().lower()
        if not self._backend.multilingual:
            if wanted not in ("auto", "en"):
                raise TranscriptionError(
                    f"{self.model_id} understands English only, not {wanted!r}; "
                    "load a multilingual model"
                )
            return "en", None
        if wanted != "auto":
            return wanted, None
        longest = max(len(a.channels[0]) for _n, a in tracks)
        mix = np.zeros(longest, dtype=np.float32)
        for _name, a in tracks:
            mix[: len(a.channels[0])] += a.channels[0] / len(tracks)
        try:
            probs = self._backend.language_probabilities(mix, vad=self.options.vad)
        except Exception as exc:
            raise ModelFailed(f"language detection failed: {type(exc).__name__}: {exc}") from exc
        allowed = self.options.languages or tuple(probs)
        candidates = {code: probs.get(code, 0.0) for code in allowed}
        best = max(candidates, key=lambda code: candidates[code])
        total = sum(candidates.values())
        return best, round(candidates[best] / total, 3) if total > 0 else None

    def _clean(
        self,
        raw: list[RawSegment],
        samples: Float32Array,
        speaker: str | None,
        language: str,
        request: Request,
        hotwords: Sequence[str],
        lexicon: Sequence[str] = (),
        rewrite: soundalike.Soundalikes | None = None,
    ) -> tuple[list[Segment], list[Dropped]]:
        kept: list[Segment] = []
        dropped: list[Dropped] = []
        before = ""
        for r in raw:
            verdict = self._guard.check(
                r.text,
                avg_logprob=r.avg_logprob,
                no_speech_prob=r.no_speech_prob,
                prompt=request.prompt,
                hotwords=hotwords,
                chinese=language == "zh",
                lexicon=lexicon,
            )
            start, end = round(r.start, 3), round(r.end, 3)
            if verdict.reason is None and _silent(samples, start, end):
                verdict = guards.Verdict(verdict.text, "silence")
            for note in verdict.notes:
                _log.info("%.2f-%.2f s: %s", start, end, note)
            if verdict.reason is None:
                # Misheard hot words rewritten by their sound, then spoken digit strings
                # in Arabic digits (Mandarin); every number checked.
                if language == "zh":
                    text = verdict.text
                    if rewrite is not None:
                        text, _changes = rewrite.correct(text)
                    text, found = numbers.normalize(text, before=before)
                else:
                    text, found = verdict.text, numbers.find(verdict.text, before=before)
                before = text
                kept.append(
                    Segment(
                        start,
                        end,
                        text,
                        speaker,
                        r.avg_logprob,
                        r.no_speech_prob,
                        r.compression_ratio,
                        words=on_sound(fit(r.words, text), samples, SAMPLE_RATE),
                        numbers=found,
                    )
                )
            elif verdict.reason != "empty" or r.text.strip():
                dropped.append(Dropped(start, end, r.text.strip(), verdict.reason, speaker))
        return kept, dropped


def voiced_seconds(tracks: Sequence[tuple[str | None, Audio]]) -> float:
    """Seconds in which Silero VAD (faster-whisper's, default settings) hears voice on
    any of the tracks; time voiced on two tracks at once counts once."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = sorted(
        (c["start"] / SAMPLE_RATE, c["end"] / SAMPLE_RATE)
        for _name, track in tracks
        for c in get_speech_timestamps(track.channels[0], VadOptions())
    )
    total, reach = 0.0, 0.0
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return round(total, 3)


SILENCE_DBFS = -60.0
"""Below this level (RMS, dB full scale) there is nothing to hear: a line's noise floor
is -60 to -45 dBFS, speech -30 to -10. Words "heard" there are invented."""


def _silent(samples: Float32Array, start: float, end: float) -> bool:
    span = samples[
        int(start * SAMPLE_RATE) : max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE) + 1)
    ]
    if span.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(span, dtype=np.float64))))
    return rms < 10 ** (SILENCE_DBFS / 20)


_loaded: dict[tuple[Any, ...], Transcriber] = {}
_loading = threading.Lock()


def load(
    model: str | os.PathLike[str] | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    *,
    backend: models.Backend | None = None,
    options: Options | None = None,
    reuse: bool = True,
) -> Transcriber:
    """Load a Whisper model once per process; see ``transcriber.models.locate`` for ``model``.

    ``cpu_threads=0`` uses every core this process may run on. ``backend`` is
    ``faster-whisper`` (default) or ``openai-whisper`` (implied by a ``.pt`` path).
    With ``reuse`` (the default) the same arguments return the same loaded model.
    """
    source = models.locate(model, backend)
    threads = cpu_threads or len(os.sched_getaffinity(0)) or 1
    key = (source, device, compute_type, threads, options)
    with _loading:
        if reuse and key in _loaded:
            return _loaded[key]
        engine: Backend
        if source.backend == models.OPENAI_WHISPER:
            from transcriber.backends.openai import OpenAIWhisper

            engine = OpenAIWhisper(
                source, device=device, compute_type=compute_type, cpu_threads=threads
            )
        else:
            from transcriber.backends.faster import FasterWhisper

            engine = FasterWhisper(
                source, device=device, compute_type=compute_type, cpu_threads=threads
            )
        loaded = Transcriber(engine, options)
        if reuse:
            _loaded[key] = loaded
        return loaded


def with_options(transcriber: Transcriber, **changes: Any) -> Transcriber:
    """The same loaded model with other decoding or guard settings (no reload)."""
    return Transcriber(transcriber._backend, replace(transcriber.options, **changes))
