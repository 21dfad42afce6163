"""Transcription speed and accuracy: every model and backend on the same calls.

    .venv/bin/python bench/transcribe.py            # the full table (~30 min on 2 cores)
    .venv/bin/python bench/transcribe.py --quick    # the rows behind the targets only
    .venv/bin/python bench/transcribe.py --quick --repeat 3   # each row timed 3 times

The calls are spoken from scripts, so the exact words are known: word error rate
(English) and character error rate (Mandarin, Simplified, punctuation ignored, numbers
compared as digits) against the script. English: a five-minute report call spoken by
espeak-ng, at 16 kHz and as the PBX records it (8 kHz µ-law). Mandarin: natural
speech (Kokoro, ``tests/support/kokoro.py``) at 8 kHz µ-law: the three report calls
of ``tests/support/report_calls.py`` (statistics-law violations, names, addresses, ID,
phone and card numbers read digit by digit) in each of three voices (``zh-voices``:
CER per voice), and a five-minute call made of their turns in turn (``zh-8k``, for
speed). Rows with and without the built-in lexicon (``transcriber.lexicon``: hot words
and sound-alike rewriting, ``transcriber.soundalike``) and without the rewriting alone
show their effect; "+ case names" adds each call's entity and address as per-job hot
words, as a re-run from the case page does.

Each faster-whisper row also prints where its time went (``profile``): Silero VAD,
feature extraction (log-Mel), the encoder, decoding (beam search), word alignment
(cross-attention + DTW), and the rest (guards, numbers, our own code).

Each row runs in a fresh process so that its peak RSS is its own; model loading and
a warm-up transcription of the first 30 s are not timed (a worker loads its model
once and reuses it). RTF is audio seconds / wall seconds (×10 = ten times faster than
real time); with ``--repeat N`` each row is timed N times in its process and RTF is
the median, beside the range (on a shared machine the same row varies by a quarter
from minute to minute: one figure says little). Targets: the default (faster-whisper
base int8, VAD, beam 5 and for Mandarin 3, batched) >= 15x real time on 2 cores on the
five-minute calls with no loss of accuracy against sequential decoding, Mandarin at
least as fast as English per audio second, >= 4x faster than openai-whisper on the
same weights and audio with equal or better WER, a mean Mandarin CER <= 0.05 with the
lexicon; all measured in this same run. Speeds mean little on a machine others are
using: say so beside any figure.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ENGLISH_SCRIPT = """
operator: Hotline, good afternoon. Thank you for calling. Please tell me what you would like
    to report.
caller: Hello. I would like to report a safety problem in the building where I live. There
    is a broken gas pipe in the basement, and the whole staircase smells very strongly of
    gas.
operator: Thank you. Is anyone hurt, and are you in a safe place right now?
caller: Nobody is hurt. I am standing outside on the pavement with my neighbours. We left
    the building about ten minutes ago, as soon as we noticed the smell.
operator: Good. Please stay outside and do not switch on any lights or use a lighter. What
    is the address of the building?
caller: It is on Baker Street, near number twelve. The entrance is between the pharmacy and
    the bakery, next to the bus stop.
operator: Baker Street, number twelve. How many floors does the building have, and how many
    families live there?
caller: It has five floors. I think there are about twenty families, but many people are at
    work in the afternoon, so only a few of us were at home.
operator: When did you first notice the smell of gas?
caller: This morning at about eight o'clock it was weak, but after lunch it became much
    stronger. A man from the second floor went down to the basement and saw that the pipe is
    cracked near the meter.
operator: Has anyone called the gas company or the building manager?
caller: We called the building manager twice, but nobody answered the phone. That is why I
    am calling the hotline. We are worried that something terrible could happen.
operator: You did the right thing. I am sending an emergency team to the address now. They
    should arrive within twenty minutes.
caller: Thank you very much. Should we tell the people in the shops next door to leave as
    well?
operator: Yes, please ask them to step outside and keep away from the entrance until the
    team arrives. May I have your name, please?
caller: My name is Alex Smith. I live on the third floor, in flat number seven.
operator: Thank you, Mister Smith. Is this number the best way to reach you?
caller: Yes, you can reach me on this number at any time today. My phone is fully charged.
operator: I also need to ask whether this has happened before in your building.
caller: Last winter there was a smaller leak, and the manager promised to replace the old
    pipes, but as far as I know nothing was done. I think the pipes are more than forty
    years old.
operator: I will add that to the report, so the inspectors can check whether the repairs
    were made. Do you have any photographs of the pipe?
caller: My neighbour took two pictures with his phone before we left. I can send them to you
    if you give me an address.
operator: After this call you will receive a text message with a case number and a link
    where you can upload the pictures.
caller: That is very helpful. One more thing. The back door of the building is locked, so
    the team should use the front entrance on Baker Street.
operator: Understood. I have written that down for the team. Can you tell me whether the gas
    supply to the building can be turned off from the outside?
caller: I am not sure. There is a grey metal box on the wall near the bakery with a yellow
    sign on it, but it is locked and I do not have a key.
operator: That is probably the main valve. Please do not try to open it yourself. The team
    has the tools to close it safely.
caller: All right. There is also an old woman on the fourth floor who does not walk well. I
    knocked on her door, but she did not answer.
operator: Thank you for telling me. I will ask the fire brigade to check her flat first. Do
    you know her name?
caller: Her name is Mary Brown. She usually sits by the window in the afternoon, and her son
    visits her every evening after six.
operator: I have added Mary Brown, fourth floor, to the report. The fire brigade will look
    for her as soon as they arrive.
caller: Thank you. I can see a police car coming down the street now. Should I wave to them?
operator: Yes, please tell the officers that you made this report, and show them the front
    entrance. Is there anything else you would like to report?
caller: No, that is everything. Please send someone soon. Thank you for your help.
operator: You are welcome. Stay outside, keep your phone with you, and wait for the team.
    Goodbye.
"""

ZH_VOICES = ("zf_xiaobei", "zm_yunjian", "zf_xiaoyi")
"""Kokoro's Mandarin voices the bench speaks in (women ``zf_``, men ``zm_``)."""
ZH_CALL_SECONDS = 300.0
VOICES = {"operator": "en-gb", "caller": "en-us"}


def english_turns() -> list[tuple[str, str]]:
    return _turns(ENGLISH_SCRIPT)


def mandarin_turns(voice: str) -> list[tuple[str, str]]:
    """``(voice, text)``: the three report calls, every turn in ``voice``."""
    from tests.support.report_calls import CALLS

    return [(voice, text) for script in CALLS.values() for _who, text in script]


def long_mandarin_turns() -> list[tuple[str, str]]:
    """Five minutes of report calls: each call in each voice in turn, operator and
    caller in different voices (only turns already synthesized for the voice rows)."""
    from tests.support.report_calls import CALLS

    turns: list[tuple[str, str]] = []
    seconds = 0.0
    while seconds < ZH_CALL_SECONDS:
        for i, script in enumerate(CALLS.values()):
            for n, voice in enumerate(ZH_VOICES):
                other = ZH_VOICES[(n + 1 + i) % len(ZH_VOICES)]
                for who, text in script:
                    turns.append((voice if who == "caller" else other, text))
                    seconds += 0.2 * len(text) + 0.8  # Kokoro: ~5 characters a second
                if seconds >= ZH_CALL_SECONDS:
                    return turns
    return turns


def _turns(script: str, *, split: bool = False) -> list[Any]:
    turns: list[Any] = []
    for line in script.strip().splitlines():
        if line.startswith("    "):
            if split:
                head, pinyin = turns[-1]
                turns[-1] = (head, f"{pinyin} {line.strip()}".strip())
            else:
                who, text = turns[-1]
                turns[-1] = (who, f"{text} {line.strip()}")
        else:
            who, _, text = line.partition(": ")
            turns.append(((who, text), "") if split else (who, text))
    return turns


@dataclass(frozen=True)
class Case:
    """One row of the table: a model, a way of decoding, a call."""

    call: str
    """en-16k, en-8k (µ-law), zh-16k, zh-8k (µ-law)."""
    label: str
    model: str = "bundled-base"
    backend: str = "faster-whisper"
    compute_type: str = "int8"
    options: dict[str, Any] = field(default_factory=dict)
    plain_openai: bool = False
    """openai-whisper's own ``transcribe()`` as its users run it: no VAD, beam 5."""

    @property
    def key(self) -> str:
        model = "" if self.model == "bundled-base" else f" [{self.model}]"
        return f"{self.call}/{self.label}{model}"


DEFAULT = "default (VAD, beam 5; Mandarin 3)"
SEQUENTIAL = "sequential (VAD, beam 5)"
OPENAI = "openai-whisper plain (beam 5)"
NO_LEXICON = "default, no lexicon"
NO_SOUNDALIKES = "default, no sound-alike rewriting"
CASE_NAMES = "default + case names"
ZH_OTHER_DECODING: tuple[str, ...] = ("en",)
"""``batched_languages`` for the Mandarin rows that try the other way of decoding."""
ZH_OTHER_LABEL = "sequential"


def lexicon_prompt() -> dict[str, Any]:
    """The lexicon in the prompt instead of the hot words."""
    from transcriber.lexicon import LEXICON_ZH

    return {
        "lexicon_zh": (),
        "prompt_zh": f"以下是普通话的统计违法举报电话，说到{'、'.join(LEXICON_ZH)}。",
    }


def cases(quick: bool) -> list[Case]:
    rows: list[Case] = []
    for call in ("en-8k", "en-16k"):
        rows += [
            Case(call, DEFAULT),
            Case(call, SEQUENTIAL, options={"batch_size": 1}),
            Case(call, OPENAI, backend="openai-whisper", compute_type="float32", plain_openai=True),
        ]
        if not quick:
            rows += [
                Case(call, "sequential, no VAD", options={"batch_size": 1, "vad": False}),
                Case(call, "batched, float32", compute_type="float32"),
                Case(call, "batched, beam 1", options={"beam_size": 1}),
                Case(call, "sequential, beam 1", options={"batch_size": 1, "beam_size": 1}),
                Case(call, DEFAULT, model="bundled-tiny.en"),
                Case(
                    call,
                    "openai-whisper + VAD (our backend)",
                    backend="openai-whisper",
                    compute_type="float32",
                ),
            ]
    no_lexicon = {"lexicon_zh": (), "heard_zh": ()}
    rows += [
        Case("zh-8k", DEFAULT),
        Case("zh-voices", DEFAULT),
        Case("zh-voices", NO_LEXICON, options=no_lexicon),
        Case("zh-voices", NO_SOUNDALIKES, options={"soundalikes": False}),
    ]
    if not quick:
        rows.append(Case("zh-voices", CASE_NAMES, options={"case_names": True}))
        other = {"batched_languages": ZH_OTHER_DECODING}
        rows += [
            Case("zh-8k", ZH_OTHER_LABEL, options=other),
            Case("zh-voices", ZH_OTHER_LABEL, options=other),
            Case("zh-voices", f"{ZH_OTHER_LABEL}, no lexicon", options={**other, **no_lexicon}),
            Case("zh-voices", "lexicon in the prompt", options=lexicon_prompt()),
            Case("zh-voices", "no prompt", options={"prompt_zh": ""}),
            Case("zh-voices", "beam 5", options={"beam_size_zh": 5}),
            Case("zh-voices", "beam 2", options={"beam_size_zh": 2}),
            Case("zh-voices", "beam 1", options={"beam_size_zh": 1}),
            Case("zh-8k", "beam 1", options={"beam_size_zh": 1}),
            Case(
                "zh-8k",
                OPENAI,
                backend="openai-whisper",
                compute_type="float32",
                plain_openai=True,
            ),
        ]
    return rows


def make_calls(where: Path) -> dict[str, Path]:
    from tests.support.kokoro import mandarin_call
    from tests.support.report_calls import spoken
    from tests.support.speech import conversation

    en = english_turns()
    calls = {
        "en-16k": conversation(en, where / "en-16k.wav", voices=VOICES, rate=16000, gap=1.0),
        "en-8k": conversation(en, where / "en-8k.wav", voices=VOICES, encoding="u-law", gap=1.0),
    }
    for voice in ZH_VOICES:
        turns = [(v, spoken(text)) for v, text in mandarin_turns(voice)]
        calls[f"zh-voices/{voice}"] = mandarin_call(turns, voices={voice: voice})
    turns = [(v, spoken(text)) for v, text in long_mandarin_turns()]
    calls["zh-8k"] = mandarin_call(turns, voices={v: v for v in ZH_VOICES})
    return calls


def reference(call: str) -> str:
    from tests.support.report_calls import written

    if call.startswith("en"):
        return " ".join(text for _who, text in english_turns())
    if call.startswith("zh-voices/"):
        turns = mandarin_turns(call.split("/", 1)[1])
    else:
        turns = long_mandarin_turns()
    return "".join(written(text) for _v, text in turns)


WARM_UP = 16000 * 30
"""Samples transcribed once, untimed, before the timed run: a service reuses its model."""

STAGES = ("VAD", "features", "encoder", "decoding", "alignment", "language")


class Profile:
    """Seconds spent in each stage of faster-whisper, by wrapping the calls it makes
    (timing only: the calls and their results are unchanged)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    def timed(self, stage: str, fn: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return run

    def install(self, loaded: Any) -> None:
        import faster_whisper.transcribe as fw

        whisper_model = loaded._backend._model
        fw.get_speech_timestamps = self.timed("VAD", fw.get_speech_timestamps)
        whisper_model.feature_extractor = _Wrapped(whisper_model.feature_extractor, {}, self)
        whisper_model.model = _Wrapped(
            whisper_model.model,
            {
                "encode": "encoder",
                "generate": "decoding",
                "align": "alignment",
                "detect_language": "language",
            },
            self,
        )
        original = whisper_model.find_alignment
        whisper_model.find_alignment = self.timed("alignment", original)

    def reset(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)


class _Wrapped:
    """An object whose named methods are timed; everything else passes through."""

    def __init__(self, inner: Any, stages: dict[str, Any], profile: Profile) -> None:
        self._inner, self._stages, self._profile = inner, stages, profile

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._profile.timed("features", self._inner)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        stage = self._stages.get(name)
        if isinstance(stage, str) and callable(value):
            if name == "align":
                return value  # counted inside find_alignment
            return self._profile.timed(stage, value)
        return value


def run_case(case: Case, audio_paths: dict[str, Path], repeat: int = 1) -> dict[str, Any]:
    """Runs in its own process: load and warm up (untimed), transcribe ``repeat`` times
    (timed), score the last."""
    import transcriber
    from transcriber.audio import load_audio
    from transcriber.metrics import cer, wer

    language = case.call[:2]
    audios = {
        call: load_audio(path, max_seconds=3600).channels[0] for call, path in audio_paths.items()
    }
    first = next(iter(audios.values()))
    texts: dict[str, str] = {}
    profile: dict[str, float] = {}
    walls: list[float] = []
    if case.plain_openai:
        import torch
        import whisper

        from transcriber.models import bundled_openai

        torch.set_num_threads(len(os.sched_getaffinity(0)))
        model = whisper.load_model(str(bundled_openai(case.model)), device="cpu")
        settings: dict[str, Any] = {
            "language": language,
            "beam_size": 5,
            "best_of": 5,
            "fp16": False,
            "condition_on_previous_text": False,
            "verbose": None,
        }
        # PyTorch's first decode of each new shape is slow (measured: a minute of audio
        # 209 s cold, 49 s warm): warm up as a long-running worker would be.
        whisper.transcribe(model, first[:WARM_UP], **settings)
        for _ in range(repeat):
            wall = 0.0
            for call, audio in audios.items():
                started = time.perf_counter()
                texts[call] = str(whisper.transcribe(model, audio, **settings)["text"])
                wall += time.perf_counter() - started
            walls.append(wall)
    else:
        options = dict(case.options)
        with_names = bool(options.pop("case_names", False))
        loaded = transcriber.load(
            case.model,
            compute_type=case.compute_type,
            backend=case.backend,  # type: ignore[arg-type]
            options=transcriber.Options(**options),
        )
        loaded.transcribe(first[:WARM_UP], language=language)
        timer = Profile()
        if case.backend == "faster-whisper":
            timer.install(loaded)
        for _ in range(repeat):
            wall = 0.0
            for call, audio in audios.items():
                names = _case_names(call) if with_names else ()
                started = time.perf_counter()
                texts[call] = loaded.transcribe(audio, language=language, extra_hotwords=names).text
                wall += time.perf_counter() - started
            walls.append(wall)
        if case.backend == "faster-whisper":
            profile = dict(timer.seconds)
    score = wer if language == "en" else cer
    errors = {call: score(reference(call), text) for call, text in texts.items()}
    audio_s = sum(len(a) for a in audios.values()) / 16000
    return {
        "audio_s": audio_s,
        "wall_s": statistics.median(walls),
        "walls": walls,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "error": sum(errors.values()) / len(errors),
        "errors": errors,
        "profile": profile,
        "text": "\n".join(texts.values()),
    }


PAIRED = ("en-8k", "zh-8k")
"""The two five-minute calls whose speeds are compared: English and Mandarin at 8 kHz."""


def run_pairs(audio_paths: dict[str, Path], pairs: int) -> dict[str, Any]:
    """Runs in its own process: the default on the English and the Mandarin call in
    turn, ``pairs`` times (which goes first alternating), so that both are timed under
    the same load: rows timed minutes apart on a shared machine are not comparable."""
    import transcriber
    from transcriber.audio import load_audio

    loaded = transcriber.load("bundled-base")
    audios = {call: load_audio(audio_paths[call], max_seconds=3600).channels[0] for call in PAIRED}
    for call, audio in audios.items():
        loaded.transcribe(audio[:WARM_UP], language=call[:2])
    rtf: dict[str, list[float]] = {call: [] for call in PAIRED}
    for n in range(pairs):
        for call in PAIRED if n % 2 == 0 else PAIRED[::-1]:
            audio = audios[call]
            started = time.perf_counter()
            loaded.transcribe(audio, language=call[:2])
            rtf[call].append(len(audio) / 16000 / (time.perf_counter() - started))
    return {"rtf": rtf, "ratios": [zh / en for en, zh in zip(*rtf.values(), strict=True)]}


def print_pairs(paired: dict[str, Any]) -> None:
    ratios = paired["ratios"]
    en, zh = (paired["rtf"][call] for call in PAIRED)
    ratio = statistics.median(ratios)
    verdict = "at least as fast" if ratio >= 0.95 else "SLOWER"
    print(
        f"Mandarin per audio second, timed in turn with English ({len(ratios)} pairs, one "
        f"process): x{ratio:.2f} the speed of English ({verdict}; pairs "
        f"{min(ratios):.2f}-{max(ratios):.2f}; en-8k x{statistics.median(en):.1f}, "
        f"zh-8k x{statistics.median(zh):.1f})"
    )


def _case_names(call: str) -> tuple[str, ...]:
    """What the cases of a bench call would name: each report call's entity and its
    address (``report_calls.NAMES``; the worker and a re-run from the case page pass
    them as hot words)."""
    from tests.support.report_calls import NAMES

    return tuple(name for names in NAMES.values() for name in names)


def describe(case: Case) -> list[str]:
    beam = 3 if case.call.startswith("zh") else 5  # Options.beam_size_zh
    o = {"batch_size": 8, "vad": True, "beam_size": beam, **case.options}
    if case.call.startswith("zh") and "beam_size_zh" in case.options:
        o["beam_size"] = case.options["beam_size_zh"]
    if case.plain_openai:
        o = {"batch_size": 1, "vad": False, "beam_size": 5}
    model = case.model.removeprefix("bundled-")
    batched = o["batch_size"] > 1 and o["vad"] and case.backend == "faster-whisper"
    batched = batched and case.call[:2] in o.get("batched_languages", ("en", "zh"))
    decoding = "batched" if batched else "sequential"
    return [
        case.call,
        model,
        case.backend + (" (plain)" if case.plain_openai else ""),
        case.compute_type,
        decoding,
        "yes" if o["vad"] else "no",
        str(o["beam_size"]),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="only the rows behind the targets")
    parser.add_argument("--no-openai", action="store_true", help="skip openai-whisper rows")
    parser.add_argument(
        "--only", action="append", default=[], help="rows whose call/label contain this"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time each row this many times in its process (RTF: the median, and the range)",
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=5,
        help="times the English and Mandarin calls are timed in turn (0: not at all)",
    )
    parser.add_argument("--run-case", help=argparse.SUPPRESS)
    parser.add_argument("--run-pairs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_pairs:
        paths = {call: Path(p) for call, p in json.loads(args.audio).items()}
        print(json.dumps(run_pairs(paths, args.run_pairs)))
        return 0
    if args.run_case:
        paths = {call: Path(p) for call, p in json.loads(args.audio).items()}
        print(json.dumps(run_case(Case(**json.loads(args.run_case)), paths, args.repeat)))
        return 0

    from transcriber.models import bundled_base, bundled_openai

    rows = [c for c in cases(args.quick) if not (args.no_openai and c.backend == "openai-whisper")]
    if args.only:
        rows = [c for c in rows if any(o in c.key for o in args.only)]
    bundled_base()
    if any(c.backend == "openai-whisper" for c in rows):
        try:
            import whisper  # noqa: F401
        except ImportError:
            print(
                "openai-whisper is not installed (scripts/install-openai-whisper.sh): "
                "skipping its rows"
            )
            rows = [c for c in rows if c.backend != "openai-whisper"]
        else:
            bundled_openai("bundled-base")  # rebuilt once, before any timing
    print(f"{len(os.sched_getaffinity(0))} CPU cores; {len(rows)} rows, each in a fresh process")
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-transcribe-") as tmp:
        calls = make_calls(Path(tmp))
        for case in rows:
            audio = {
                call: path
                for call, path in calls.items()
                if call == case.call or call.startswith(f"{case.call}/")
            }
            out = _fresh_process(
                case.key,
                ["--run-case", json.dumps(case.__dict__), "--repeat", str(max(1, args.repeat))],
                audio,
            )
            if out is None:
                continue
            results[case.key] = r = out
            print(
                f"  {case.key:<48} x{r['audio_s'] / r['wall_s']:5.1f}  error {r['error']:.3f}",
                flush=True,
            )
        paired = None
        if args.pairs > 0 and {f"{call}/{DEFAULT}" for call in PAIRED} <= set(results):
            paired = _fresh_process(
                "paired timing",
                ["--run-pairs", str(args.pairs)],
                {call: calls[call] for call in PAIRED},
            )
    print_table(rows, results)
    print_targets(results, paired)
    return 0


def _fresh_process(what: str, arguments: list[str], audio: dict[str, Path]) -> Any:
    """This script run again in a process of its own on ``audio``: its last line, read
    as JSON; ``None`` (said why) if it failed."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            *arguments,
            "--audio",
            json.dumps({call: str(path) for call, path in audio.items()}),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"{what}: failed\n{done.stderr[-2000:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[Case], results: dict[str, dict[str, Any]]) -> None:
    head = [
        "call",
        "model",
        "backend",
        "compute",
        "decoding",
        "VAD",
        "beam",
        "audio s",
        "wall s",
        "RTF",
        "RTF range",
        "peak RSS MiB",
        "WER/CER",
    ]
    table = [head]
    for case in rows:
        r = results.get(case.key)
        if r is None:
            continue
        rtf = f"x{r['audio_s'] / r['wall_s']:.1f}"
        walls = r.get("walls") or [r["wall_s"]]
        spread = f"x{r['audio_s'] / max(walls):.1f}-{r['audio_s'] / min(walls):.1f}"
        figures = [
            f"{r['audio_s']:.1f}",
            f"{r['wall_s']:.1f}",
            rtf,
            spread if len(walls) > 1 else "",
            f"{r['rss_mib']:.0f}",
        ]
        table.append([*describe(case), *figures, f"{r['error']:.3f}"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_targets(results: dict[str, dict[str, Any]], paired: dict[str, Any] | None = None) -> None:
    print()
    for call in ("en-8k", "en-16k", "zh-8k"):
        default, seq, plain = (
            results.get(f"{call}/{label}") for label in (DEFAULT, SEQUENTIAL, OPENAI)
        )
        if default is None:
            continue
        rtf = default["audio_s"] / default["wall_s"]
        minutes = default["audio_s"] / 60
        line = (
            f"{call} ({minutes:.1f} min): default x{rtf:.1f} real time (target >= 15) "
            f"error {default['error']:.3f}"
        )
        if seq is not None:
            line += f"; sequential x{seq['audio_s'] / seq['wall_s']:.1f} error {seq['error']:.3f}"
            line += (
                " (accuracy kept)"
                if default["error"] <= seq["error"] + 0.005
                else " (ACCURACY LOST)"
            )
        if plain is not None:
            speedup = plain["wall_s"] / default["wall_s"]
            better = "equal or better" if default["error"] <= plain["error"] + 0.005 else "WORSE"
            line += f"; vs openai-whisper x{speedup:.1f} faster (target >= 4)"
            line += f", error {better} ({plain['error']:.3f})"
        print(line)
    en, zh = results.get(f"en-8k/{DEFAULT}"), results.get(f"zh-8k/{DEFAULT}")
    if en and zh:
        ratio = (zh["audio_s"] / zh["wall_s"]) / (en["audio_s"] / en["wall_s"])
        verdict = "at least as fast" if ratio >= 0.95 else "SLOWER"
        print(
            f"Mandarin per audio second: x{ratio:.2f} the speed of English ({verdict}; "
            "rows timed minutes apart)"
        )
    if paired is not None:
        print_pairs(paired)
    print_voices(results)
    print_profiles(results)


def print_voices(results: dict[str, dict[str, Any]]) -> None:
    rows = [(k.split("/", 1)[1], r) for k, r in results.items() if k.startswith("zh-voices/")]
    if not rows:
        return
    labels = [label for label, _r in rows]
    print("\nMandarin CER per voice (three report calls each, 8 kHz µ-law):")
    print(f"  {'voice':<12}" + "".join(f"{label[:30]:>32}" for label in labels))
    for voice in ZH_VOICES:
        cells = [r["errors"].get(f"zh-voices/{voice}") for _label, r in rows]
        print(
            f"  {voice:<12}" + "".join(f"{c:>32.3f}" if c is not None else " " * 32 for c in cells)
        )
    means = [r["error"] for _label, r in rows]
    print(f"  {'mean':<12}" + "".join(f"{m:>32.3f}" for m in means) + "   (target <= 0.05)")


def print_profiles(results: dict[str, dict[str, Any]]) -> None:
    print("\nWhere the time goes (share of wall time; rest: audio, guards, numbers, glue):")
    print(f"  {'row':<44}" + "".join(f"{s:>10}" for s in (*STAGES, "rest")))
    for key, r in results.items():
        profile = r.get("profile") or {}
        if not profile:
            continue
        wall = sum(r.get("walls") or [r["wall_s"]])  # the profile sums every timed run
        rest = max(0.0, wall - sum(profile.values()))
        shares = [profile.get(s, 0.0) / wall for s in STAGES] + [rest / wall]
        print(f"  {key[:44]:<44}" + "".join(f"{share:>10.0%}" for share in shares))


if __name__ == "__main__":
    sys.exit(main())
