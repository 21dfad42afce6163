"""``hotline cases`` says when its list is cut short; an unknown ``HOTLINE_*`` variable
is named at start instead of being ignored in silence."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from hotline.config import load_settings
from hotline.intake import TRANSCRIBE
from hotline.service import Hotline
from tests.e2e.conftest import hotline
from tests.support.fixtures import MIXMONITOR_SAMPLE


def test_a_cut_list_says_so_and_all_lists_every_case(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    files = []
    for n in range(3):
        files.append(tmp_path / f"call-{n}.wav")
        shutil.copyfile(MIXMONITOR_SAMPLE, files[-1])
    assert hotline(["ingest", *map(str, files), "--caller", "1"], cli_env).returncode == 0

    cut = hotline(["cases", "--json", "--limit", "2"], cli_env)
    assert cut.returncode == 0
    listed = json.loads(cut.stdout)  # still the list, as documented
    assert [c["number"] for c in listed] == ["HL-2026-000003", "HL-2026-000002"]
    assert cut.stderr == (
        "hotline: the newest 2 of 3 cases are listed; --limit N or --all for more\n"
    )
    every = hotline(["cases", "--json", "--all"], cli_env)
    assert len(json.loads(every.stdout)) == 3 and every.stderr == ""
    plain = hotline(["cases", "--limit", "1"], cli_env)
    assert plain.stdout.startswith("HL-2026-000003") and "newest 1 of 3" in plain.stderr
    assert hotline(["cases"], cli_env).stderr == ""  # 3 cases, under the default 50
    drafts = hotline(["cases", "--status", "draft", "--limit", "3"], cli_env)
    assert drafts.stderr == ""  # exactly all of them

    for bad in (["--limit", "0"], ["--limit", "x"], ["--limit", "2", "--all"]):
        refused = hotline(["cases", *bad], cli_env)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr, bad


def test_an_unknown_hotline_variable_is_named_at_start(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **cli_env,
        "HOTLINE_DATA_DIRR": str(tmp_path / "elsewhere"),  # a typo
        "HOTLINE_COPY_APPROVERS": "head",  # a setting this version does not have
        "HOTLINE_CONFIG": "",  # read, though no setting
    }
    run = hotline(["cases"], env)
    assert run.returncode == 0 and run.stdout == "no cases\n"
    warnings = [line for line in run.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 2, run.stderr
    assert warnings[1].endswith(
        "HOTLINE_DATA_DIRR is not a setting of this hotline and is ignored "
        "(did you mean HOTLINE_DATA_DIR?)"
    )
    assert warnings[0].endswith(
        "HOTLINE_COPY_APPROVERS is not a setting of this hotline and is ignored"
    )
    assert "HOTLINE_CONFIG" not in run.stderr


def test_a_failed_transcription_shows_in_the_list_and_the_case(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    src = tmp_path / "call.wav"
    shutil.copyfile(MIXMONITOR_SAMPLE, src)
    assert hotline(["ingest", str(src), "--caller", "1"], cli_env).returncode == 0
    queued = hotline(["cases"], cli_env)
    assert "transcription queued" in queued.stdout and "failed" not in queued.stdout

    async def give_up() -> None:
        # A worker gives up on the job, as `hotline worker` does on undecodable audio.
        core = Hotline(load_settings(environ=cli_env))
        await core.open()
        try:
            job = await core.queue.claim("test-worker", [TRANSCRIBE])
            assert job is not None
            error = "audio could not be decoded: truncated data chunk"
            status = await core.queue.fail(job, "test-worker", error, permanent=True)
            assert status == "failed"
        finally:
            await core.close()

    asyncio.run(give_up())
    listed = hotline(["cases"], cli_env)
    assert listed.returncode == 0
    line = "transcription failed: audio could not be decoded: truncated data chunk"
    assert line in listed.stdout, listed.stdout
    shown = hotline(["case", "show", "HL-2026-000001"], cli_env)
    assert line in shown.stdout, shown.stdout
