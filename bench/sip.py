"""The built-in SIP line under load: concurrent recorded calls from sipp.

    .venv/bin/python bench/sip.py [--calls 50 100 200] [--seconds 20] [--codec PCMU]
                                  [--sync both|on|off]

For each level, sipp (``rtp_stream``, 20 ms G.711 packets) opens that many calls
at once, each playing ``--seconds`` of speech, while the line runs in this process.
Over the plateau (all calls up, none ended) it reports the line's CPU (user + system,
this process only), its resident memory per call, the worst event-loop lag (how late
a packet that arrived could be processed: a 5 ms probe timer's overshoot), how busy
the whole machine was (sipp, run at nice 10, shares the two cores), and after
hang-up the packets lost as the jitter buffers counted them, and whether every call
was recorded in full. Target: >= 200 calls, no loss, no lag above 60 ms, on 2 cores.

``--sync both`` (the default) runs each level twice, in the same run: with each block of
every recording brought to the disk as it is written (the line's default, one
``syncfs`` pass for all calls) and with the disk synced only at hang-up; for the first it
prints the sync passes a second and how long they took (on their own thread).

pyVoIP 1.6.8, if installed, is not driven here (it works only registered to a
registrar); the figures measured for the issue are printed beside ours for reference.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import resource
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.calls import CallEnded, CallFact, RecordingFinished, RecordingStarted
from hotline.sip.config import SIPConfig, default_notice
from hotline.sip.line import SIPLine
from tests.support import speech
from tests.support.sip_peers import run_sipp, stream_scenario

PYVOIP_ISSUE = "pyVoIP 1.6.8 (issue's measurement): 50 calls, 83% of a core, 152 threads"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        start = loop.time()
        await asyncio.sleep(0.005)
        samples.append(loop.time() - start - 0.005)


async def level(
    calls: int, seconds: float, codec: str, work: Path, raw: Path, sync: bool
) -> dict[str, float]:
    facts: list[CallFact] = []
    all_answered, all_ended = asyncio.Event(), asyncio.Event()

    counts = {RecordingStarted: 0, CallEnded: 0}

    async def sink(fact: CallFact) -> None:
        facts.append(fact)
        if type(fact) in counts:
            counts[type(fact)] += 1
        if counts[RecordingStarted] == calls:
            all_answered.set()
        if counts[CallEnded] == calls:
            all_ended.set()

    config = SIPConfig(
        recordings_dir=work / f"rec-{calls}-{'sync' if sync else 'nosync'}",
        sync_blocks=sync,
        port=0,
        rtp_port_range=None,
        ring_seconds=0.0,
        notice_path=default_notice("zh"),
        max_calls=calls + 10,
        rtp_silence_timeout=10,
    )
    line = SIPLine(config, sink)
    await line.start()
    target = line.status.listening[0].split(":", 1)[1]
    base_rss = rss_kib()
    rate = max(20, calls // 4)  # everyone in within ~4 s
    talk_ms = int(seconds * 1000)
    started = time.monotonic()
    sipp = asyncio.create_task(
        run_sipp(
            work,
            stream_scenario(raw, codec, talk_ms),
            target,
            calls=calls,
            rate=rate,
            limit=calls,
            sipp_timeout=seconds + 60,
            nice=10,
            extra=("-rtp_threadtasks", "100"),
        )
    )
    await asyncio.wait(
        [asyncio.ensure_future(all_answered.wait()), sipp], return_when=asyncio.FIRST_COMPLETED
    )
    ramp = time.monotonic() - started
    await asyncio.sleep(1.0)  # let the notice and the first blocks settle
    lags: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, stop))
    cpu0, t0, busy0 = cpu_seconds(), time.monotonic(), machine_busy()
    disk = line.disk
    passes0, synced0 = (disk.passes, disk.seconds) if disk else (0, 0.0)
    window = max(2.0, seconds - ramp - 2.0)  # ends before the first call does
    await asyncio.sleep(window)
    cpu1, t1, busy1 = cpu_seconds(), time.monotonic(), machine_busy()
    plateau_rss = rss_kib()
    passes1, synced1 = (disk.passes, disk.seconds) if disk else (0, 0.0)
    longest = disk.longest if disk else 0.0
    stop.set()
    await probe
    run = await sipp
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(all_ended.wait(), 30)
    await line.stop()
    finished = [f for f in facts if isinstance(f, RecordingFinished)]
    lost = sum(int(f.details["packets_lost"]) for f in finished)
    received = sum(int(f.details["packets_received"]) for f in finished)
    full = 0
    for fact in finished:
        with wave.open(str(fact.path)) as wav:
            if abs(wav.getnframes() / 8000 - (fact.expected_duration or 0)) < 0.1:
                full += 1
    cores = (cpu1 - cpu0) / (t1 - t0)
    passes = passes1 - passes0
    return {
        "calls": calls,
        "sync": float(sync),
        "sync_passes_per_s": passes / (t1 - t0),
        "sync_pass_ms": 1000 * (synced1 - synced0) / passes if passes else 0.0,
        "sync_longest_ms": 1000 * longest,
        "recorded": len(finished),
        "full": full,
        "sipp_ok": float(run.returncode == 0),
        "cores": cores,
        "cpu_per_call_pct": 100 * cores / calls,
        "machine_pct": 100 * (busy1[0] - busy0[0]) / max(1.0, busy1[1] - busy0[1]),
        "rss_per_call_kib": (plateau_rss - base_rss) / calls,
        "lost": lost,
        "received": received,
        "lag_max_ms": 1000 * max(lags, default=0.0),
        "lag_p99_ms": 1000
        * (statistics.quantiles(lags, n=100)[98] if len(lags) > 100 else max(lags, default=0)),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--codec", default="PCMU", choices=["PCMU", "PCMA"])
    parser.add_argument(
        "--sync",
        default="both",
        choices=["both", "on", "off"],
        help="each block synced to the disk as written (on), only at hang-up (off), or both",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sip-") as tmp:
        work = Path(tmp)
        text = "I want to report false statistics at the cement factory near the river. " * 6
        wav = speech.convert(speech.speak(text, work / "raw.wav"), work / "talk.wav")
        with wave.open(str(wav)) as w:
            have = w.getnframes() / 8000
        if have < args.seconds:
            wav = speech.convert(wav, work / "long.wav", pad=(0.0, args.seconds - have))
        encoding = {"PCMU": "u-law", "PCMA": "a-law"}[args.codec]
        suffix = {"PCMU": "ul", "PCMA": "al"}[args.codec]  # sox's raw G.711 file types
        raw = speech.convert(wav, work / f"talk.{suffix}", encoding=encoding, bits=8)
        print(f"SIP line, {os.cpu_count()} cores, {args.codec}, {args.seconds:g} s calls")
        print(
            f"{'calls':>6} {'recorded':>9} {'in full':>8} {'CPU cores':>10} {'CPU/call':>9} "
            f"{'RSS/call':>10} {'lost':>6} {'lag max':>8} {'lag p99':>8} {'machine':>8} "
            f"{'block sync':>11}"
        )
        modes = {"both": (True, False), "on": (True,), "off": (False,)}[args.sync]
        for calls in args.calls:
            for sync in modes:
                r = await level(calls, args.seconds, args.codec, work, raw, sync)
                synced = (
                    f"{r['sync_passes_per_s']:.1f}/s, {r['sync_pass_ms']:.0f} ms "
                    f"(max {r['sync_longest_ms']:.0f})"
                    if sync
                    else "off"
                )
                print(
                    f"{calls:>6} {r['recorded']:>9.0f} {r['full']:>8.0f} {r['cores']:>10.3f} "
                    f"{r['cpu_per_call_pct']:>8.2f}% {r['rss_per_call_kib']:>7.0f} KiB "
                    f"{r['lost']:>6.0f} "
                    f"{r['lag_max_ms']:>6.1f}ms {r['lag_p99_ms']:>6.1f}ms "
                    f"{r['machine_pct']:>7.0f}% {synced}"
                    + ("" if r["sipp_ok"] else "  (sipp reported failed calls)")
                )
        if importlib.util.find_spec("pyVoIP") is not None:
            print("pyVoIP is installed but not driven by this bench; reference:", PYVOIP_ISSUE)
        else:
            print("reference, not measured in this run:", PYVOIP_ISSUE)


if __name__ == "__main__":
    asyncio.run(main())
