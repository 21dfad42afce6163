"""Disc archives as an archive office makes and checks them: ``hotline archive``,
read back by independent tools (Debian's xorriso and isoinfo), and the verifier on the
disc run by the system's own ``python3``."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from sqlmodel import col, select

from hotline.archive import preservation
from hotline.config import load_settings
from hotline.service import Hotline
from hotline.store.tables import Case, Recording
from tests.e2e.conftest import hotline
from tests.support.web_data import ZH_SEGMENTS, open_case

SYSTEM_PYTHON = "/usr/bin/python3"


def _tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


async def _three_preserved_cases(env: dict[str, str], work: Path) -> list[str]:
    core = Hotline(load_settings(environ=env))
    await core.open()
    numbers = []
    try:
        for seed, reason in ((1, "party_objection"), (2, "obstruction"), (3, "mass_incident")):
            case = await open_case(core, work, seed=seed, segments=ZH_SEGMENTS)
            async with core.db.session() as s:
                row = await s.get(Case, case.id)
                assert row is not None
                await preservation.mark(s, row, reason, "", actor="user:li", outbox=core.outbox)
            numbers.append(case.number)
    finally:
        await core.close()
    return numbers


async def test_two_volumes_readable_everywhere_and_checkable_anywhere(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    numbers = await _three_preserved_cases(cli_env, tmp_path)
    out = tmp_path / "discs"
    # 340 KiB discs (a size for tests) hold two of these cases each: two volumes.
    made = hotline(
        ["archive", "create", "--preserved", "--media", "340K", "--out", str(out), "--json"],
        cli_env,
    )
    assert made.returncode == 0, made.stderr
    archive = json.loads(made.stdout)
    first, second = (Path(image["path"]) for image in archive["images"])
    assert [i["label"] for i in archive["images"]] == ["HLA0001V01", "HLA0001V02"]
    held = [image["cases"] for image in archive["images"]]
    assert held == [numbers[:2], numbers[2:]]  # in order, no case split across discs
    for path, image in zip((first, second), archive["images"], strict=True):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == image["sha256"]

    checked = hotline(["archive", "verify", str(first), str(second)], cli_env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("ok: signature good, every file matches") == 2
    assert "recorded: volume 2 of 2 of archive HLA0001" in checked.stdout

    # Independent readers see the Chinese names: Rock Ridge (xorriso, isoinfo -R) and
    # Joliet (xorriso reading Joliet only).
    case = numbers[0]
    for args in (
        ("xorriso", "-indev", str(first), "-find", "/", "-type", "f"),
        ("xorriso", "-rockridge", "off", "-joliet", "on", "-indev", str(first), "-find", "/"),
    ):
        listing = _tool(*args).stdout
        for name in (
            f"/{case}/案件.json",
            f"/{case}/审计记录.jsonl",
            f"/{case}/转写/",
            "/verify.py",
        ):
            assert name in listing, (args, name, listing)
        assert f"/{case}/录音/" in listing and ".wav'" in listing
    isoinfo = _tool("isoinfo", "-R", "-l", "-i", str(second)).stdout
    assert f"Directory listing of /{numbers[2]}/录音/" in isoinfo and "审计记录.jsonl" in isoinfo

    # Extract the first volume as a disc reader would, and check it with the system's
    # python3 and nothing else.
    copy = tmp_path / "copy"
    extract = _tool("xorriso", "-osirrox", "on", "-indev", str(first), "-extract", "/", str(copy))
    assert extract.returncode == 0, extract.stderr
    run = _tool(SYSTEM_PYTHON, str(copy / "verify.py"), str(copy))
    assert run.returncode == 0, run.stdout
    assert "volume 1 of 2, 2 cases" in run.stdout and "signature: good" in run.stdout
    (recording,) = (copy / case / "录音").iterdir()
    recording.chmod(0o644)  # discs are read-only; a copy can be "fixed"
    data = bytearray(recording.read_bytes())
    data[3000] ^= 0x01
    recording.write_bytes(bytes(data))
    run = _tool(SYSTEM_PYTHON, str(copy / "verify.py"), str(copy))
    assert run.returncode == 1
    assert f"CHANGED  {case}/录音/{recording.name}: SHA-256" in run.stdout

    listed = json.loads(hotline(["archive", "list", "--json"], cli_env).stdout)
    assert [a["label"] for a in listed] == ["HLA0001"]
    assert [i["sha256"] for i in listed[0]["images"]] == [i["sha256"] for i in archive["images"]]
    report = json.loads(hotline(["verify", "--json"], cli_env).stdout)
    archives = next(s for s in report["sections"] if s["name"] == "archives")
    assert archives["ok"] and archives["checked"] == 2 and archives["images_on_disk"] == 2

    # A byte changed inside the image itself: named by archive verify, and by verify.
    core = Hotline(load_settings(environ=cli_env))
    await core.open()
    try:
        async with core.db.session() as s:
            rec = (await s.exec(select(Recording).order_by(col(Recording.id)).limit(1))).one()
        sealed = core.store.path_of(rec.stored_path).read_bytes()
    finally:
        await core.close()
    image = bytearray(first.read_bytes())
    at = image.find(sealed[4096:8192])
    assert at > 0
    image[at + 10] ^= 0x01
    first.write_bytes(bytes(image))
    checked = hotline(["archive", "verify", str(first)], cli_env)
    assert checked.returncode == 1
    assert f"CHANGED  {case}/录音/" in checked.stdout
    assert "not among the archives this installation recorded" in checked.stdout
    run = hotline(["verify"], cli_env)
    assert run.returncode == 1 and f"ARCHIVE  archive image {first} " in run.stdout
