"""Disc layout, pure: media sizes, volumes that never split a case, ISO 9660 names
beside the real ones, and size estimates that an image never exceeds."""

from __future__ import annotations

import io
import random
import re

import pycdlib
import pytest

from hotline.archive.layout import (
    MEDIA,
    SECTOR,
    CaseBundle,
    DiscFile,
    IsoNames,
    directories_of,
    image_estimate,
    media_bytes,
    plan,
)
from hotline.errors import InputError

_D_CHARS = re.compile(r"(/[A-Z0-9_]{1,31}(\.[A-Z0-9_]{0,8};1)?)+")


def _file(path: str, size: int) -> DiscFile:
    return DiscFile(path, size, "0" * 64, "recording", data=b"\0" * size)


def _case(number: str, *sizes: int) -> CaseBundle:
    files = [_file(f"{number}/录音/{i}-mix.wav", size) for i, size in enumerate(sizes)]
    return CaseBundle(number, (*files, _file(f"{number}/案件.json", 900)))


def test_media_by_name_or_size() -> None:
    assert media_bytes("dvd") == MEDIA["dvd"] == 4_700_372_992
    assert media_bytes("BD25") == 25_025_314_816
    assert media_bytes("700M") == 700 * 2**20
    assert media_bytes("1000000") == 1000000 - 1000000 % SECTOR
    for bad, why in (("floppy", "unknown media"), ("10K", "cannot hold even an empty disc")):
        with pytest.raises(InputError, match=why):
            media_bytes(bad)


def test_cases_fill_volumes_in_order_and_are_never_split() -> None:
    cases = [_case("HL-1", 50_000), _case("HL-2", 60_000, 20_000), _case("HL-3", 90_000)]
    empty = 40 * SECTOR  # what an image holds before any file
    assert [c.size for c in cases] == [64_640, 96_320, 103_552]
    volumes = plan(cases, capacity=empty + 20_000 + 200_000, fixed=20_000)
    assert [v.numbers for v in volumes] == [["HL-1", "HL-2"], ["HL-3"]]
    assert [v.number for v in volumes] == [1, 2]
    # Every case's files stay together, whatever the room left.
    assert [v.numbers for v in plan(cases, capacity=empty + 140_000, fixed=20_000)] == [
        ["HL-1"],
        ["HL-2"],
        ["HL-3"],
    ]
    with pytest.raises(InputError, match=r"case HL-3 needs 103.6 kB, more than one disc .*100.0"):
        plan(cases, capacity=empty + 120_000, fixed=20_000)


def test_iso_names_are_valid_unique_and_close_to_the_real_ones() -> None:
    names = IsoNames()
    assert names.directory("HL-2026-000001") == "/HL_2026_000001"
    assert names.file("HL-2026-000001/审计记录.jsonl") == "/HL_2026_000001/FILE.JSONL;1"
    assert names.file("HL-2026-000001/案件.json") == "/HL_2026_000001/FILE.JSON;1"
    assert names.file("HL-2026-000001/案卷.json") == "/HL_2026_000001/FILE_2.JSON;1"
    assert names.directory("HL-2026-000001/录音") == "/HL_2026_000001/DIR"
    assert names.directory("HL-2026-000001/转写") == "/HL_2026_000001/DIR_2"
    assert names.file("HL-2026-000001/录音/1-mix-e5837c844cfb.wav") == (
        "/HL_2026_000001/DIR/1_MIX_E5837C844CFB.WAV;1"
    )
    assert names.file("MANIFEST.json.sig") == "/MANIFEST_JSON.SIG;1"
    long = names.file("x" * 80 + ".wav")
    assert _D_CHARS.fullmatch(long) and len(long.rsplit("/", 1)[1]) <= 32


def test_an_image_never_takes_more_than_its_estimate() -> None:
    rng = random.Random(7)
    for _ in range(6):
        files = []
        for case in range(rng.randint(1, 12)):
            number = f"HL-2026-{case:06d}"
            for i in range(rng.randint(1, 30)):
                files.append(
                    _file(f"{number}/录音/{i}-operator-{i:012d}.wav", rng.randint(0, 9000))
                )
            files.append(_file(f"{number}/转写/{case}-v1.json", rng.randint(10, 5000)))
        iso = pycdlib.PyCdlib()
        iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="HLA0001V01")
        names = IsoNames()
        for d in sorted(directories_of(f.path for f in files)):
            iso.add_directory(names.directory(d), rr_name=d.rpartition("/")[2], joliet_path=f"/{d}")
        for f in files:
            assert f.data is not None
            iso.add_fp(
                io.BytesIO(f.data),
                f.size,
                names.file(f.path),
                rr_name=f.path.rpartition("/")[2],
                joliet_path=f"/{f.path}",
            )
        actual = iso.pvd.space_size * SECTOR
        iso.close()
        assert actual <= image_estimate(files) <= actual * 1.5 + 200_000, len(files)
