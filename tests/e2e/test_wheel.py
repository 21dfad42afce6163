"""hotline as a wheel installs it, with no source checkout beside it: the sdist carries
the recording-notice prompts of ``dialplan/sounds/``, the wheel built from it carries
them inside the package, and the installed package plays them as its default notice.

Built offline with what the test environment has (``--no-build-isolation``), from a
copy of the project's build inputs, so the checkout itself is left untouched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from hotline.sip.config import SOUNDS, default_notice

REPO = Path(__file__).resolve().parents[2]
PROMPTS = REPO / "dialplan" / "sounds"
INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
PACKAGES = ("hotline", "transcriber")

pytestmark = pytest.mark.timeout(240)

PROBE = """
import json, sys
import hotline
from hotline.sip.config import SIPConfig, default_notice, load_notice
default = SIPConfig(recordings_dir=sys.argv[1]).notice_path
print(json.dumps({
    "package": hotline.__file__,
    "default": str(default),
    "frames": {lang: len(load_notice(default_notice(lang)).samples) for lang in ("zh", "en")},
}))
"""


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _source_copy(into: Path) -> Path:
    """The files a build reads, as a release tarball would be made from them."""
    into.mkdir()
    for name in INPUTS:
        shutil.copy2(REPO / name, into / name)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in PACKAGES:
        shutil.copytree(REPO / name, into / name, ignore=skip)
    shutil.copytree(PROMPTS, into / "dialplan" / "sounds")
    return into


def test_a_checkout_plays_the_prompts_of_dialplan_sounds() -> None:
    assert SOUNDS == PROMPTS
    assert default_notice("zh") == PROMPTS / "hotline-recording-notice-zh.wav"


def test_the_installed_wheel_carries_the_notice_and_finds_it(tmp_path: Path) -> None:
    prompts = sorted(PROMPTS.glob("*.wav"))
    assert {p.name for p in prompts} >= {
        "hotline-recording-notice-zh.wav",
        "hotline-recording-notice-en.wav",
    }
    source = _source_copy(tmp_path / "source")
    sdist_name = _run(
        sys.executable,
        "-c",
        "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
        tmp_path / "sdist",
        cwd=source,
    ).split()[-1]
    with tarfile.open(tmp_path / "sdist" / sdist_name) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
        sdist.extractall(tmp_path / "unpacked", filter="data")
    assert {f"dialplan/sounds/{p.name}" for p in prompts} <= members

    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheels = tmp_path / "wheels"
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "--wheel-dir",
        wheels,
        unpacked,
        cwd=tmp_path,
    )
    (wheel,) = wheels.glob("hotline-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for prompt in prompts:
            assert zf.read(f"hotline/sounds/{prompt.name}") == prompt.read_bytes()
    assert not [n for n in names if n.startswith("dialplan/") or ".data/" in n]

    site = tmp_path / "site"
    _run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-index",
        "--quiet",
        "--target",
        site,
        wheel,
        cwd=tmp_path,
    )
    # Away from the checkout (-P: not even the working directory on sys.path); the
    # dependencies come from this environment, hotline itself from the wheel.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    found = json.loads(_run(sys.executable, "-P", "-c", PROBE, tmp_path, cwd=tmp_path, env=env))
    assert Path(found["package"]).is_relative_to(site)
    assert found["default"] == str(site / "hotline" / "sounds" / "hotline-recording-notice-zh.wav")
    assert all(frames > 0 for frames in found["frames"].values())
