"""Requests no browser of ours sends: each gets a clear 4xx, never a 500, and changes
nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.store.tables import Case, CaseStatus
from hotline.web.pages import _safe_next
from tests.support.web_data import open_case
from tests.support.web_server import PASSWORD, WebRig


@pytest.mark.parametrize(
    "value",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "//evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "evil.example",
        "",
    ],
)
def test_sign_in_never_leads_to_another_site(value: str) -> None:
    assert _safe_next(value) == "/"


def test_sign_in_leads_back_to_the_page_asked_for() -> None:
    assert _safe_next("/cases/12?tab=transcript") == "/cases/12?tab=transcript"
    assert _safe_next("/%09/evil.example") == "/%09/evil.example"  # a path here, encoded


async def test_a_tab_in_next_is_no_way_off_the_site(rig: WebRig) -> None:
    browser = rig.anonymous()
    html = (await browser.get("/login"))[1]
    token = re.search(rb'name="_csrf" value="([^"]+)"', html)
    assert token
    form = {
        "username": "handler",
        "password": PASSWORD,
        "_csrf": token.group(1).decode(),
        "next": "/\t/evil.example",
    }
    async with browser.http.post(rig.url + "/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/cases"


async def test_bodies_the_json_reader_cannot_take(rig: WebRig, tmp_path: Path) -> None:
    anonymous = rig.anonymous()
    async with anonymous.http.post(
        rig.url + "/api/session",
        data=b"[" * 100_000,
        headers={"Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400 and "nested too deeply" in (await resp.json())["error"]
    case = await open_case(rig.core, tmp_path, seed=71)
    handler = await rig.sign_in("handler")
    async with handler.http.patch(
        rig.url + f"/api/cases/{case.id}",
        data=b"{}",
        headers={"Content-Type": "application/json; charset=bogus", "X-CSRF-Token": handler.csrf},
    ) as resp:
        assert resp.status == 415 and "bogus" in (await resp.json())["error"]


async def test_ids_that_are_not_plain_numbers_are_not_found(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=72)
    handler = await rig.sign_in("handler")
    for mark in ("abc", "%C2%B2", "9" * 30):
        status, body, _ = await handler.request(
            "DELETE", f"/api/cases/{case.id}/redaction-marks/{mark}"
        )
        assert status == 404 and "no redaction mark" in body["error"], (mark, status)
    for ref in ("%C2%B2", "%E0%A5%A7"):  # a superscript two, a Devanagari one
        assert (await handler.get(f"/api/copies/{ref}"))[0] == 404, ref


async def test_a_range_of_thousands_of_digits(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=73)
    handler = await rig.sign_in("handler")
    path = f"/api/cases/{case.id}/recording"
    status, audio, _ = await handler.get(path)
    assert status == 200
    huge = "9" * 4400
    status, _, _ = await handler.get(path, headers={"Range": f"bytes={huge}-"})
    assert status == 416
    status, body, _ = await handler.get(path, headers={"Range": f"bytes=0-{huge}"})
    assert status == 206 and body == audio


async def test_an_origin_that_is_no_url_is_refused(rig: WebRig, tmp_path: Path) -> None:
    case = await open_case(rig.core, tmp_path, seed=74)
    handler = await rig.sign_in("handler")
    for origin in ("http://[::1", "http://a:99999"):
        status, _, _ = await handler.request(
            "PATCH", f"/api/cases/{case.id}", json={}, headers={"Origin": origin}
        )
        assert status == 403, origin


async def test_a_language_no_page_is_written_in(rig: WebRig) -> None:
    browser = await rig.sign_in("handler")
    html = (await browser.get("/account"))[1]
    token = re.search(rb'name="_csrf" value="([^"]+)"', html)
    assert token
    form = {"_csrf": token.group(1).decode(), "language": "xx"}
    async with browser.http.post(rig.url + "/account", data=form, allow_redirects=False) as resp:
        assert resp.status == 400 and "xx" in await resp.text()


async def test_a_case_the_case_system_has_is_not_made_a_draft_again(
    rig: WebRig, tmp_path: Path
) -> None:
    case = await open_case(rig.core, tmp_path, seed=75)
    async with rig.core.db.session() as s:
        row = await s.get(Case, case.id)
        assert row is not None
        row.status = CaseStatus.FORWARDED
        s.add(row)
    handler = await rig.sign_in("handler")
    for status in ("draft", "under_review"):
        code, body, _ = await handler.request(
            "PATCH", f"/api/cases/{case.id}", json={"status": status}
        )
        assert code == 409 and "comes from the case system" in body["error"], body
    after = (await handler.get(f"/api/cases/{case.id}"))[1]
    assert after["status"] == "forwarded"
    # Its fields can still be corrected.
    code, _, _ = await handler.request(
        "PATCH", f"/api/cases/{case.id}", json={"entity_name": "金河水泥厂"}
    )
    assert code == 200


async def test_a_rerun_in_a_language_whisper_does_not_know(rig: WebRig, tmp_path: Path) -> None:
    from tests.support.web_data import ZH_SEGMENTS

    case = await open_case(rig.core, tmp_path, seed=76, segments=ZH_SEGMENTS)
    handler = await rig.sign_in("handler")
    status, body, _ = await handler.request(
        "POST", f"/api/cases/{case.id}/transcript/rerun", json={"language": "ZZ"}
    )
    assert status == 400 and "language code Whisper knows" in str(body), body
