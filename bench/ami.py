"""The Asterisk source: throughput, memory and pick-up latency.

    .venv/bin/python bench/ami.py [--seconds 5] [--calls 1000] [--runs 10]

1. Events parsed and applied per second on one core: every captured session
   (``tests/fixtures/ami``) replayed in a loop through the sans-I/O core and the full
   call tracker, recordings "closed" at once. Target: >= 20,000 events/s.
2. The tracker's memory for 1,000 concurrent calls: the answered call, up to the
   moment both legs are bridged, cloned with fresh Uniqueids (tracemalloc).
3. Latency from the final ``Hangup`` on the wire to ``RecordingFinished`` at the sink and
   to the draft case committed with its sealed recording (the service's own sink),
   against the AMI simulator over TCP, default pick-up settings, p50/p95 over ``--runs``
   replays of the answered call. Target: p95 < 1 s after the file is complete.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hotline.ami import AMIConfig, AsteriskSource
from hotline.ami.message import Message
from hotline.ami.model import FileReport, Output, ScanDirectory, SendAction, WatchFile
from hotline.ami.protocol import AMIConnection, NeedData
from hotline.ami.recordings import WavHeader
from hotline.ami.tracker import Tracker, TrackerConfig
from hotline.calls import CallFact, RecordingFinished
from tests.support.ami_captures import (
    SCENARIOS,
    action_results,
    capture_bytes,
    events,
    wav_header,
)
from tests.support.ami_simulator import AMISimulator

T0 = 1_795_824_713.0
HEADER = WavHeader.parse(wav_header(441_280))


def close_files(tracker: Tracker, outputs: list[Output], now: float) -> int:
    """Count the facts; "close" every watched file at once."""
    facts = 0
    for output in outputs:
        if isinstance(output, WatchFile):
            report = FileReport(output.path.name, output.path, 441_324, now, HEADER, True)
            facts += len(tracker.file_closed(output.key, report, now))
        elif not isinstance(output, (SendAction, ScanDirectory)):
            facts += 1
    return facts


def throughput(seconds: float) -> tuple[float, float, int, int]:
    """Events per CPU second of this (single) thread, and per wall second."""
    streams = [capture_bytes(name) for name in SCENARIOS]
    tracker = Tracker(TrackerConfig(recordings_dir=Path("/tmp/recordings")))
    tracker.connected(T0)
    tracker.action_result("adopt", action_results("actions")["lab-008"], T0)
    messages = facts = 0
    start = time.perf_counter()
    cpu = time.process_time()
    now = T0
    while time.perf_counter() - start < seconds:
        for data in streams:
            conn = AMIConnection()
            conn.receive_data(data)
            while True:
                item = conn.next_item()
                if isinstance(item, NeedData):
                    break
                messages += 1
                now += 0.001
                if isinstance(item, Message):
                    out = tracker.event(item, now)
                    if out:
                        facts += close_files(tracker, out, now)
            facts += close_files(tracker, tracker.tick(now + 60), now)
    elapsed = time.perf_counter() - start
    used = time.process_time() - cpu
    return messages / used, messages / elapsed, messages, facts


def clone(data: bytes, i: int) -> bytes:
    return (
        data.replace(b"1795824714.0", f"{1_700_000_000 + i}.{2 * i}".encode())
        .replace(b"1795824719.1", f"{1_700_000_000 + i}.{2 * i + 1}".encode())
        .replace(b"caller-00000000", f"caller-{2 * i:08x}".encode())
        .replace(b"operator-00000001", f"operator-{2 * i + 1:08x}".encode())
    )


def memory(calls: int) -> tuple[int, int, int]:
    bridged = [(t, bytes(m)) for t, m in events("answered-call", end=9.0)]
    tracker = Tracker(TrackerConfig(recordings_dir=Path("/tmp/recordings")))
    tracker.connected(T0)
    tracker.action_result("adopt", action_results("actions")["lab-008"], T0)
    streams = [b"".join(clone(raw, i) for _, raw in bridged) for i in range(calls)]
    tracemalloc.start()
    baseline = tracemalloc.take_snapshot()
    for i, data in enumerate(streams):
        conn = AMIConnection()
        conn.receive_data(data)
        while not isinstance(item := conn.next_item(), NeedData):
            if isinstance(item, Message):
                tracker.event(item, T0 + i * 0.01)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    used = sum(stat.size_diff for stat in after.compare_to(baseline, "filename"))
    return used, tracker.calls_tracked, tracker.channels_tracked


async def latency(runs: int, speed: float) -> tuple[list[float], list[float]]:
    """Seconds from the final ``Hangup`` to ``RecordingFinished`` at the sink, and to
    the draft case committed with its sealed recording (the service's real sink, on
    the embedded SQLite)."""
    from hotline.config import load_settings
    from hotline.service import Hotline

    to_fact: list[float] = []
    to_case: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            recordings = Path(tmp) / "monitor"
            recordings.mkdir()
            core = Hotline(load_settings(environ={"HOTLINE_DATA_DIR": str(Path(tmp) / "data")}))
            await core.open()
            arrived: list[float] = []
            sealed: list[float] = []

            async def sink(
                fact: CallFact,
                arrived: list[float] = arrived,
                sealed: list[float] = sealed,
                core: Hotline = core,
            ) -> None:
                loop = asyncio.get_running_loop()
                if isinstance(fact, RecordingFinished):
                    arrived.append(loop.time())
                await core.on_fact(fact)
                if isinstance(fact, RecordingFinished):
                    sealed.append(loop.time())

            async with AMISimulator("answered-call", recordings_dir=recordings, speed=speed) as sim:
                config = AMIConfig.from_url(
                    sim.url(),
                    recordings_dir=recordings,
                    pbx_recordings_dir=sim.pbx_monitor,  # the simulated PBX's name for it
                    mixmonitor_grace=8.0,
                )
                async with AsteriskSource(config, sink, time_scale=speed):
                    async with asyncio.timeout(60):
                        while not sealed:  # noqa: ASYNC110
                            await asyncio.sleep(0.005)
            await core.close()
            to_fact.append(arrived[0] - sim.hangups[-1])
            to_case.append(sealed[0] - sim.hangups[-1])
    return to_fact, to_case


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--speed", type=float, default=20.0)
    args = parser.parse_args()

    rate, wall, messages, facts = throughput(args.seconds)
    print(
        f"throughput: {rate:,.0f} events per CPU second, parsed and applied on one core "
        f"({wall:,.0f}/s of wall time; {messages:,} events, {facts:,} facts; "
        "target >= 20,000)"
    )
    used, calls, channels = memory(args.calls)
    print(
        f"memory: {used / 1e6:.1f} MB for {calls:,} concurrent calls ({channels:,} channels), "
        f"{used / max(calls, 1) / 1e3:.1f} kB per call"
    )
    to_fact, to_case = asyncio.run(latency(args.runs, args.speed))
    for label, delays in (("RecordingFinished", to_fact), ("sealed draft case", to_case)):
        print(
            f"latency Hangup -> {label}: p50 {statistics.median(delays) * 1000:.0f} ms, "
            f"p95 {_p95(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms over "
            f"{len(delays)} calls (pick-up: poll 0.1 s, stable 0.3 s; target p95 < 1 s)"
        )


if __name__ == "__main__":
    main()
