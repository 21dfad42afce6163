"""The openai-whisper backend: the integration path on random weights, then real weights
rebuilt offline from the bundled CTranslate2 base, compared with faster-whisper, and
its hot words over a long Mandarin call."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import transcriber
from tests.integration.transcriber.conftest import MIXMONITOR_SCRIPT, assert_words_fit
from tests.support import report_calls
from tests.support.fixtures import MIXMONITOR_SAMPLE
from tests.support.prerequisites import require_module
from transcriber.audio import load_audio
from transcriber.convert import openai_state_dict, read_ct2
from transcriber.metrics import cer, english_words, wer
from transcriber.models import bundled_base

# make test installs them (scripts/install-openai-whisper.sh): under CI, missing fails.
torch = require_module("torch", "the openai-whisper extra: scripts/install-openai-whisper.sh")
whisper_model = require_module("whisper.model", "the openai-whisper extra")


pytestmark = pytest.mark.slow


def test_random_weights_run_end_to_end(tmp_path: Path) -> None:
    dims = whisper_model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = whisper_model.Whisper(dims)
    checkpoint = tmp_path / "random.pt"
    torch.save({"dims": vars(dims), "model_state_dict": model.state_dict()}, checkpoint)
    loaded = transcriber.load(
        checkpoint, options=transcriber.Options(vad=False, temperatures=(0.0,))
    )
    assert loaded.model_id == f"openai-whisper:{checkpoint}:float32"
    samples = np.random.default_rng(0).normal(0, 0.1, 16000 * 3).astype(np.float32)
    result = loaded.transcribe(samples, language="en")
    assert isinstance(result, transcriber.Transcript) and result.duration == 3.0
    assert result.model == loaded.model_id
    assert all(isinstance(s.text, str) for s in result.segments)


def test_bundled_base_rebuilds_into_an_exact_openai_state_dict() -> None:
    variables = read_ct2(bundled_base() / "model.bin")
    assert (
        variables["decoder/embeddings/weight"].dtype == np.float16
    )  # the bundled export is float16
    state = openai_state_dict(variables)
    keys = {k for k, v in variables.items() if k.endswith("self_attention/linear_0/bias")}
    for key in keys:  # Whisper's key projection has no bias: the fused one must hold zeros there
        assert not np.any(np.split(variables[key], 3)[1])
    from transcriber.convert import dimensions

    model = whisper_model.Whisper(whisper_model.ModelDimensions(**dimensions(variables)))
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in state.items()}
    model.load_state_dict(tensors, strict=True)


def test_both_backends_agree_on_the_same_weights_and_audio() -> None:
    reference = transcriber.load(backend="openai-whisper")
    assert reference.model_id == "openai-whisper:bundled-base:float32"
    same_weights = transcriber.load(compute_type="float32")
    default = transcriber.load()
    results = {
        t.model_id: t.transcribe(MIXMONITOR_SAMPLE, language="en")
        for t in (reference, same_weights, default)
    }
    rates = {model: wer(MIXMONITOR_SCRIPT, r.text) for model, r in results.items()}
    for model, result in results.items():
        assert {"gas", "pipe", "alex", "smith"} <= set(english_words(result.text)), (
            model,
            result.text,
        )
        assert_words_fit(result)  # both backends time every word, on the recording's clock
    # faster-whisper, float32 or int8, is at least as accurate as the reference implementation.
    assert (
        rates["faster-whisper:bundled-base:float32"]
        <= rates["openai-whisper:bundled-base:float32"] + 0.03
    ), rates
    assert (
        rates["faster-whisper:bundled-base:int8"]
        <= rates["openai-whisper:bundled-base:float32"] + 0.03
    ), rates


def test_hot_words_lead_every_window_of_a_long_call() -> None:
    """Two report calls one after the other, 70 s: the second call's case names and
    terms are said after the first 30 s window, and the transcript comes in sentences.
    With the hot words as a plain initial prompt (first window only) this model wrote
    有线公司 for the 有限公司 it was given, and the prompted window as one 30 s segment."""
    calls = ("hongda", "jinsheng")
    parts = [load_audio(report_calls.call(name), max_seconds=120).channels[0] for name in calls]
    audio = np.concatenate(parts)
    second_starts = len(parts[0]) / 16000
    names = [word for name in calls for word in report_calls.NAMES[name]]
    reference = transcriber.load(backend="openai-whisper")
    result = reference.transcribe(audio, language="zh", extra_hotwords=names)
    second = "".join(s.text for s in result.segments if s.start >= second_starts - 0.5)
    for word in report_calls.KEY_WORDS["jinsheng"]:
        assert word in second, second
    # Scored over both calls: where a sentence is cut at the calls' meeting is the
    # model's choice (the second call's greeting is sometimes the end of a segment
    # that began in the first).
    script = "".join(report_calls.reference(name) for name in calls)
    assert cer(script, result.text) <= 0.08, result.text
    assert all(s.end - s.start <= 10 for s in result.segments), result.segments
    assert_words_fit(result)
