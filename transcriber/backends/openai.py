"""openai-whisper (PyTorch): the reference implementation, float32 on CPU.

Installed as the ``openai-whisper`` extra (``scripts/install-openai-whisper.sh``
installs it with a CPU-only torch). It has no VAD of its own, so speech is found
with the same Silero VAD faster-whisper uses, decoded as one stream of speech, and
the times (of segments and of words, from its own ``word_timestamps``) are mapped back
onto the recording. It has no hot-word input either: hot words go into the prompt,
carried into every 30 s window, and a window that copies them is decoded again without
them, as in faster-whisper's backend.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from transcriber.audio import SAMPLE_RATE
from transcriber.backends import RawSegment, Request, by_sentence, without_copies
from transcriber.errors import ModelNotFound
from transcriber.models import ModelSource, cache_dir
from transcriber.result import Word
from transcriber.wav import Float32Array
from transcriber.words import timed

_log = logging.getLogger(__name__)
_INSTALL = (
    "install the openai-whisper extra: scripts/install-openai-whisper.sh "
    "(or pip install 'hotline[openai-whisper]')"
)


def _import() -> tuple[Any, Any]:
    try:
        import torch
        import whisper
    except ImportError as exc:
        raise ModelNotFound(
            f"the openai-whisper backend is not installed ({exc.name}): {_INSTALL}"
        ) from exc
    return torch, whisper


def _speech(audio: Float32Array) -> tuple[Float32Array, Any, bool]:
    """The speech in ``audio`` joined up, a map back to the recording's times, any speech."""
    from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

    chunks = get_speech_timestamps(audio, VadOptions())
    if not chunks:
        return np.zeros(0, dtype=np.float32), None, False
    speech = np.concatenate([audio[c["start"] : c["end"]] for c in chunks]).astype(np.float32)
    return speech, SpeechTimestampsMap(chunks, SAMPLE_RATE), True


class OpenAIWhisper:
    """A PyTorch Whisper model: a ``.pt`` checkpoint, or a name openai-whisper downloads."""

    def __init__(
        self, source: ModelSource, *, device: str, compute_type: str, cpu_threads: int
    ) -> None:
        torch, whisper = _import()
        torch.set_num_threads(cpu_threads)
        if compute_type not in ("float32", "int8", "default"):
            raise ModelNotFound(
                f"openai-whisper on {device} computes in float32, not {compute_type}"
            )
        if compute_type == "int8":
            _log.info("openai-whisper has no int8 on %s; computing in float32", device)
        try:
            if source.local:
                self._model = self._load_checkpoint(torch, whisper, source.location, device)
            else:
                self._model = whisper.load_model(
                    source.location,
                    device=device,
                    download_root=str(cache_dir() / "openai-whisper"),
                )
        except ModelNotFound:
            raise
        except Exception as exc:
            where = (
                source.location if source.local else f"{source.name!r} (download needs a network)"
            )
            raise ModelNotFound(f"cannot load the openai-whisper model {where}: {exc}") from exc
        self._model.eval()
        self._torch = torch
        self._whisper = whisper
        self._id = f"openai-whisper:{source.name}:float32"

    @staticmethod
    def _load_checkpoint(torch: Any, whisper: Any, path: str, device: str) -> Any:
        from whisper.model import ModelDimensions, Whisper

        checkpoint = torch.load(path, map_location=device, weights_only=True)
        if (
            not isinstance(checkpoint, dict)
            or "dims" not in checkpoint
            or "model_state_dict" not in checkpoint
        ):
            raise ModelNotFound(
                f"{path} is not an openai-whisper checkpoint (no dims / model_state_dict)"
            )
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
        heads = checkpoint.get("alignment_heads")
        if heads:
            mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
            for layer, head in heads:
                mask[layer, head] = True
            model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
        return model.to(device)

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def multilingual(self) -> bool:
        return bool(self._model.is_multilingual)

    def language_probabilities(self, audio: Float32Array, *, vad: bool) -> dict[str, float]:
        if vad:
            speech, _map, found = _speech(audio)
            audio = speech if found else audio
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(self._torch.from_numpy(audio)), self._model.dims.n_mels
        )
        with self._torch.inference_mode():
            _tokens, probs = self._model.detect_language(mel.to(self._model.device))
        return {str(code): float(p) for code, p in probs.items()}

    def decode(self, audio: Float32Array, request: Request) -> list[RawSegment]:
        times = None
        if request.options.vad:
            audio, times, found = _speech(audio)
            if not found:
                return []
        return [
            sentence
            for decoded in self._transcribe(audio, request, request.hotwords)
            for segment in self._without_copies(audio, decoded, request)
            for sentence in _sentences(segment, times)
        ]

    def _transcribe(
        self, audio: Float32Array, request: Request, hotwords: tuple[str, ...], offset: float = 0.0
    ) -> list[dict[str, Any]]:
        """openai-whisper's segments of ``audio``, ``offset`` seconds later. The hot
        words and the prompt lead every 30 s window (``carry_initial_prompt``), as
        faster-whisper's ``hotwords`` do: as a plain initial prompt they would bias the
        first window only, and a case's names said after it would go unheard."""
        o = request.options
        words = replace(request, hotwords=hotwords).hotword_text
        prompt = " ".join(p for p in (words, request.prompt) if p) or None
        with self._torch.inference_mode():
            result = self._whisper.transcribe(
                self._model,
                audio,
                language=request.language,
                task="transcribe",
                temperature=tuple(o.temperatures),
                beam_size=o.beam_for(request.language),
                best_of=o.beam_for(request.language),
                initial_prompt=prompt,
                carry_initial_prompt=True,
                condition_on_previous_text=False,
                no_speech_threshold=o.no_speech_threshold,
                logprob_threshold=o.logprob_threshold,
                compression_ratio_threshold=o.max_compression_ratio,
                fp16=False,
                verbose=None,
                word_timestamps=True,
            )
        segments: list[dict[str, Any]] = result["segments"]
        for s in segments:
            s["start"], s["end"] = offset + float(s["start"]), offset + float(s["end"])
            for w in s.get("words") or ():
                w["start"], w["end"] = offset + float(w["start"]), offset + float(w["end"])
        return segments

    def _without_copies(
        self, audio: Float32Array, segment: dict[str, Any], request: Request
    ) -> list[dict[str, Any]]:
        """``segment``, or its window decoded again without the hot words it copies
        (``without_copies``)."""
        start = max(0.0, float(segment["start"]) - 0.5)
        piece = audio[int(start * SAMPLE_RATE) : int((float(segment["end"]) + 0.5) * SAMPLE_RATE)]
        return without_copies(
            [segment],
            request.hotwords,
            lambda hotwords: self._transcribe(piece, request, hotwords, start),
            lambda s: str(s["text"]),
            start,
        )


def _sentences(segment: dict[str, Any], times: Any) -> list[RawSegment]:
    """One openai-whisper segment on the recording's clock, cut into sentences by its
    timed words (``by_sentence``)."""
    start, end = float(segment["start"]), float(segment["end"])
    if times is not None:
        start = times.get_original_time(start)
        end = times.get_original_time(end, is_end=True)
    return by_sentence(
        RawSegment(
            start=start,
            end=end,
            text=str(segment["text"]),
            avg_logprob=float(segment["avg_logprob"]),
            no_speech_prob=float(segment["no_speech_prob"]),
            compression_ratio=float(segment["compression_ratio"]),
            words=_words(segment.get("words") or (), times),
        )
    )


def _words(words: Any, times: Any) -> tuple[Word, ...]:
    """openai-whisper's timed words, on the recording's clock: a word stays in the speech
    chunk that holds its middle, as faster-whisper maps its own."""
    out = []
    for w in words:
        start, end = float(w["start"]), float(w["end"])
        if times is not None:
            chunk = times.get_chunk_index((start + end) / 2)
            start = times.get_original_time(start, chunk)
            end = times.get_original_time(end, chunk)
        out.append(timed(start, end, str(w["word"]), float(w["probability"])))
    return tuple(out)
