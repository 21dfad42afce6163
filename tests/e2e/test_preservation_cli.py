"""``hotline cases --preserved``: the installed command lists flagged cases only."""

from __future__ import annotations

import json
from pathlib import Path

from hotline.archive import preservation
from hotline.cases import get_case
from hotline.config import load_settings
from hotline.service import Hotline
from tests.e2e.conftest import hotline
from tests.support.web_data import make_wav


async def test_cases_preserved_lists_the_flagged_cases(cli_env: dict[str, str]) -> None:
    work = Path(cli_env["HOTLINE_DATA_DIR"]).parent
    files = [str(make_wav(work / f"call-{i}.wav", seed=i)) for i in range(2)]
    run = hotline(["ingest", *files, "--caller", "13800138000", "--json"], cli_env)
    assert run.returncode == 0, run.stderr
    first, second = (entry["case"]["number"] for entry in json.loads(run.stdout))

    core = Hotline(load_settings(environ=cli_env))
    await core.open()
    try:
        async with core.db.session() as s:
            case = await get_case(s, second)
            await preservation.mark(
                s, case, "obstruction", "", actor="user:wang", outbox=core.outbox
            )
    finally:
        await core.close()

    listed = hotline(["cases", "--preserved", "--json"], cli_env)
    assert listed.returncode == 0, listed.stderr
    (only,) = json.loads(listed.stdout)
    assert only["number"] == second
    assert only["preservation"]["reason"] == "obstruction" and only["long_term"] is True
    text = hotline(["cases", "--preserved"], cli_env).stdout
    assert second in text and "kept long-term: obstruction" in text and first not in text
    everything = hotline(["cases"], cli_env).stdout
    assert first in everything and second in everything

    report = hotline(["retention", "report", "--json"], cli_env)
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    assert [e["number"] for e in data["preserved"]] == [second]
    assert data["counts"]["kept"] == 1 and data["due"] == []
    text = hotline(["retention", "report", "--within", "30"], cli_env).stdout
    assert "KEPT LONG-TERM: 1" in text and second in text
    assert "hotline deletes no evidence" in text
    refused = hotline(["retention", "report", "--within", "-3"], cli_env)
    assert refused.returncode == 2 and "--within" in refused.stderr
