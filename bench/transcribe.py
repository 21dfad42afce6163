"""Transcription speed and accuracy: every model and backend on the same calls.

    .venv/bin/python bench/transcribe.py            # the full table (~30 min on 2 cores)
    .venv/bin/python bench/transcribe.py --quick    # the rows behind the targets only

The calls are spoken by espeak-ng from the scripts below, so the exact words are
known: word error rate (English) and character error rate (Mandarin, Simplified,
punctuation ignored) against the script. A five-minute English report call is made at
16 kHz and as the PBX records it (8 kHz µ-law), and a one-minute Mandarin one.

Each row runs in a fresh process so that its peak RSS is its own; model loading and
a warm-up transcription of the first minute are not timed (a worker loads its model
once and reuses it). RTF is audio seconds / wall seconds (×10 = ten times faster than real
time). Targets (issue "Transcriber"): the default (faster-whisper base int8, VAD,
beam 5, batched for English) >= 10x real time on 2 cores on the five-minute call with no loss of
accuracy against sequential decoding, and >= 4x faster than openai-whisper on the same
weights and audio with equal or better WER, both measured in this same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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

MANDARIN_SCRIPT = """
operator: 您好，这里是市民热线，请问有什么可以帮您？
    nin2 hao3, zhe4 li3 shi4 shi4 min2 re4 xian4, qing3 wen4 you3 shen2 me5 ke3 yi3
    bang1 nin2?
caller: 你好，我要举报一个安全问题。
    ni3 hao3, wo3 yao4 ju3 bao4 yi2 ge4 an1 quan2 wen4 ti2.
caller: 我家楼下的煤气管道破了，味道很大。
    wo3 jia1 lou2 xia4 de5 mei2 qi4 guan3 dao4 po4 le5, wei4 dao4 hen3 da4.
operator: 请问您的地址在哪里？
    qing3 wen4 nin2 de5 di4 zhi3 zai4 na3 li3?
caller: 我住在北京市朝阳区建国路十二号。
    wo3 zhu4 zai4 bei3 jing1 shi4 chao2 yang2 qu1 jian4 guo2 lu4 shi2 er4 hao4.
operator: 好的，我们马上派人过去。请您先离开房间，不要开灯。
    hao3 de5, wo3 men5 ma3 shang4 pai4 ren2 guo4 qu4. qing3 nin2 xian1 li2 kai1 fang2
    jian1, bu2 yao4 kai1 deng1.
caller: 另外，我还想举报一家公司的统计数据造假。
    ling4 wai4, wo3 hai2 xiang3 ju3 bao4 yi4 jia1 gong1 si1 de5 tong3 ji4 shu4 ju4 zao4
    jia3.
caller: 这家公司叫华信科技有限公司，他们的工业产值报表和实际情况不一样。
    zhe4 jia1 gong1 si1 jiao4 hua2 xin4 ke1 ji4 you3 xian4 gong1 si1, ta1 men5 de5 gong1
    ye4 chan3 zhi2 bao4 biao3 he2 shi2 ji4 qing2 kuang4 bu4 yi2 yang4.
operator: 好的，我们已经记录下来了，会转给统计局处理。谢谢您的电话。
    hao3 de5, wo3 men5 yi3 jing1 ji4 lu4 xia4 lai2 le5, hui4 zhuan3 gei3 tong3 ji4 ju2
    chu3 li3. xie4 xie4 nin2 de5 dian4 hua4.
"""
MANDARIN_HOTWORDS = ("华信科技", "统计局", "工业产值", "统计数据")
VOICES = {"operator": "en-gb", "caller": "en-us"}


def english_turns() -> list[tuple[str, str]]:
    return _turns(ENGLISH_SCRIPT)


def mandarin_turns() -> list[tuple[str, str, str]]:
    """``(speaker, what was meant in characters, the pinyin espeak-ng reads)``."""
    return [(who, hanzi, pinyin) for (who, hanzi), pinyin in _turns(MANDARIN_SCRIPT, split=True)]


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


DEFAULT = "default (VAD, beam 5)"
SEQUENTIAL = "sequential (VAD, beam 5)"
OPENAI = "openai-whisper plain (beam 5)"


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
    if not quick:
        for call in ("zh-16k", "zh-8k"):
            hot = {"hotwords": MANDARIN_HOTWORDS}
            rows += [
                Case(call, DEFAULT, options=hot),
                Case(
                    call, "batched 8 (VAD, beam 5)", options={**hot, "batched_languages": ("zh",)}
                ),
                Case(
                    call,
                    OPENAI,
                    backend="openai-whisper",
                    compute_type="float32",
                    plain_openai=True,
                ),
            ]
    return rows


def make_calls(where: Path) -> dict[str, Path]:
    from tests.support.speech import conversation

    en, zh = english_turns(), [(who, pinyin) for who, _h, pinyin in mandarin_turns()]
    zh_voices = {"operator": "cmn-latn-pinyin", "caller": "cmn-latn-pinyin"}
    return {
        "en-16k": conversation(en, where / "en-16k.wav", voices=VOICES, rate=16000, gap=1.0),
        "en-8k": conversation(en, where / "en-8k.wav", voices=VOICES, encoding="u-law", gap=1.0),
        "zh-16k": conversation(zh, where / "zh-16k.wav", voices=zh_voices, rate=16000, speed=110),
        "zh-8k": conversation(
            zh, where / "zh-8k.wav", voices=zh_voices, encoding="u-law", speed=110
        ),
    }


def reference(call: str) -> str:
    if call.startswith("en"):
        return " ".join(text for _who, text in english_turns())
    return "".join(hanzi for _who, hanzi, _p in mandarin_turns())


WARM_UP = 16000 * 60
"""Samples transcribed once, untimed, before the timed run: a service reuses its model."""


def run_case(case: Case, audio_path: Path) -> dict[str, Any]:
    """Runs in its own process: load and warm up (untimed), transcribe (timed), score."""
    import transcriber
    from transcriber.audio import load_audio
    from transcriber.metrics import cer, wer

    language = case.call[:2]
    audio = load_audio(audio_path, max_seconds=3600).channels[0]
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
        whisper.transcribe(model, audio[:WARM_UP], **settings)
        started = time.perf_counter()
        text = str(whisper.transcribe(model, audio, **settings)["text"])
        wall = time.perf_counter() - started
    else:
        options = transcriber.Options(**case.options)
        loaded = transcriber.load(
            case.model,
            compute_type=case.compute_type,
            backend=case.backend,  # type: ignore[arg-type]
            options=options,
        )
        loaded.transcribe(audio[:WARM_UP], language=language)
        started = time.perf_counter()
        text = loaded.transcribe(audio, language=language).text
        wall = time.perf_counter() - started
    score = wer if language == "en" else cer
    return {
        "audio_s": len(audio) / 16000,
        "wall_s": wall,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "error": score(reference(case.call), text),
        "text": text,
    }


def describe(case: Case) -> list[str]:
    o = {"batch_size": 8, "vad": True, "beam_size": 5, **case.options}
    if case.plain_openai:
        o = {"batch_size": 1, "vad": False, "beam_size": 5}
    model = case.model.removeprefix("bundled-")
    batched = o["batch_size"] > 1 and o["vad"] and case.backend == "faster-whisper"
    batched = batched and case.call[:2] in o.get("batched_languages", ("en",))
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
    parser.add_argument("--run-case", help=argparse.SUPPRESS)
    parser.add_argument("--audio", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_case:
        print(json.dumps(run_case(Case(**json.loads(args.run_case)), Path(args.audio))))
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
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--run-case",
                    json.dumps(case.__dict__),
                    "--audio",
                    str(calls[case.call]),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                print(f"{case.key}: failed\n{done.stderr[-2000:]}")
                continue
            results[case.key] = json.loads(done.stdout.strip().splitlines()[-1])
            r = results[case.key]
            print(
                f"  {case.key:<48} x{r['audio_s'] / r['wall_s']:5.1f}  error {r['error']:.3f}",
                flush=True,
            )
    print_table(rows, results)
    print_targets(results)
    return 0


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
        "peak RSS MiB",
        "WER/CER",
    ]
    table = [head]
    for case in rows:
        r = results.get(case.key)
        if r is None:
            continue
        rtf = f"x{r['audio_s'] / r['wall_s']:.1f}"
        figures = [f"{r['audio_s']:.1f}", f"{r['wall_s']:.1f}", rtf, f"{r['rss_mib']:.0f}"]
        table.append([*describe(case), *figures, f"{r['error']:.3f}"])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def print_targets(results: dict[str, dict[str, Any]]) -> None:
    print()
    for call in ("en-8k", "en-16k", "zh-16k", "zh-8k"):
        default, seq, plain = (
            results.get(f"{call}/{label}") for label in (DEFAULT, SEQUENTIAL, OPENAI)
        )
        if default is None:
            continue
        rtf = default["audio_s"] / default["wall_s"]
        line = f"{call}: default x{rtf:.1f} real time (target >= 10) error {default['error']:.3f}"
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


if __name__ == "__main__":
    sys.exit(main())
