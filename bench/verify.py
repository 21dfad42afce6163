"""``hotline verify`` hashing rate against ``sha256sum`` on the same files, same run.
Target: verify within 80% of sha256sum's rate (ratio >= 0.8).

    .venv/bin/python bench/verify.py [--files 100] [--mb-per-file 5]

Both read from the page cache (each is run twice; the better run counts), so the figure
compares hashing and I/O overhead, not the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hotline.config import load_settings
from hotline.evidence.verify import verify
from hotline.service import Hotline


def _wav_header(data_len: int) -> bytes:
    import struct

    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_len)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_len)
    )


async def build_store(data: Path, files: int, size: int) -> list[Path]:
    core = Hotline(load_settings(environ={"HOTLINE_DATA_DIR": str(data)}))
    await core.open(migrate=True)
    src = data.parent / "src.wav"
    for i in range(files):
        body = os.urandom(size - (size % 2))
        src.write_bytes(_wav_header(len(body)) + body)
        await core.intake.ingest_file(src, caller=str(i), actor="bench")
    await core.close()
    return sorted((data / "evidence" / "sha256").rglob("*.wav"))


async def time_verify(data: Path) -> tuple[float, int]:
    core = Hotline(load_settings(environ={"HOTLINE_DATA_DIR": str(data)}))
    await core.open()
    report = await verify(core.db, core.store)
    await core.close()
    assert report.ok
    return report.seconds, report.bytes_hashed


def time_sha256sum(paths: list[Path]) -> float:
    started = time.perf_counter()
    subprocess.run(["sha256sum", *map(str, paths)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--mb-per-file", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        data = Path(tmp) / "data"
        paths = asyncio.run(build_store(data, args.files, int(args.mb_per_file * 1e6)))
        total = sum(p.stat().st_size for p in paths) / 1e6
        sums = min(time_sha256sum(paths) for _ in range(2))
        runs = [asyncio.run(time_verify(data)) for _ in range(2)]
        secs = min(r[0] for r in runs)
        cli_started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "hotline"), "verify"],
            env={**os.environ, "HOTLINE_DATA_DIR": str(data)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cli = time.perf_counter() - cli_started
        print(f"{len(paths)} recordings, {total:.0f} MB, {os.cpu_count()} CPUs")
        print("| what                         | seconds | MB/s   | vs sha256sum |")
        print("|------------------------------|---------|--------|--------------|")
        print(
            f"| sha256sum (one process)      | {sums:7.2f} | {total / sums:6.0f} | 1.00         |"
        )
        for label, took in (
            ("hotline verify (in process)", secs),
            ("`hotline verify` (command)", cli),
        ):
            print(
                f"| {label:<28} | {took:7.2f} | {total / took:6.0f} | {sums / took:4.2f}         |"
            )


if __name__ == "__main__":
    main()
