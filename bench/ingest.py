"""Ingest throughput and latency: a 30 s recording in -> a sealed draft case (no
transcription). Target: p95 under 200 ms per call on a 2-core machine.

    .venv/bin/python bench/ingest.py [--count 200] [--seconds 30] [--postgres DSN]

Prints a table for the embedded SQLite database, and for PostgreSQL with ``--postgres``
(a server the bench may create a scratch database on and drop it afterwards, e.g.
``postgresql://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
import wave
from pathlib import Path

import numpy as np

from hotline.config import load_settings
from hotline.service import Hotline


def make_recordings(directory: Path, count: int, seconds: float) -> list[Path]:
    rng = np.random.default_rng(7)
    paths = []
    frames = int(8000 * seconds)
    for i in range(count):
        samples = (rng.standard_normal(frames) * 3000).astype("<i2")
        path = directory / f"call-{i:04d}.wav"
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(samples.tobytes())
        paths.append(path)
    return paths


async def run(label: str, database_url: str | None, files: list[Path], data: Path) -> None:
    env = {"HOTLINE_DATA_DIR": str(data)}
    if database_url:
        env["HOTLINE_DATABASE_URL"] = database_url
    core = Hotline(load_settings(environ=env))
    await core.open(migrate=True)
    latencies = []
    started = time.perf_counter()
    for path in files:
        t0 = time.perf_counter()
        result = await core.intake.ingest_file(path, caller="13800138000", actor="bench")
        latencies.append(time.perf_counter() - t0)
        assert not result.duplicate
    wall = time.perf_counter() - started
    await core.close()
    q = statistics.quantiles(latencies, n=100)
    mb = sum(p.stat().st_size for p in files) / 1e6
    print(
        f"| {label:<10} | {len(files):>5} | {len(files) / wall:>8.1f} | {mb / wall:>6.1f} "
        f"| {q[49] * 1000:>7.1f} | {q[94] * 1000:>7.1f} | {max(latencies) * 1000:>7.1f} |"
    )


async def on_scratch_database(admin_dsn: str, files: list[Path], data: Path) -> None:
    import asyncpg

    name = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = admin_dsn.rpartition("/")[0].replace("postgresql://", "postgresql+asyncpg://")
        await run("postgresql", f"{base}/{name}", files, data)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--postgres", metavar="DSN", help="also run on a scratch database there")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        files = make_recordings(root / "in", args.count, args.seconds)
        print(
            f"{args.count} recordings of {args.seconds:.0f} s (8 kHz 16-bit mono), "
            "ingest = check + copy + fsync + SHA-256 + seal + rows + audit + job"
        )
        print("| database   | calls | calls/s  | MB/s   | p50 ms  | p95 ms  | max ms  |")
        print("|------------|-------|----------|--------|---------|---------|---------|")
        asyncio.run(run("sqlite", None, files, root / "data-sqlite"))
        if args.postgres:
            asyncio.run(on_scratch_database(args.postgres, files, root / "data-pg"))


if __name__ == "__main__":
    main()
