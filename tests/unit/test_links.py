"""Signed recording links and the event body that carries them: bytes in, values out.
Time is passed in (``now``), as the signer's own parameter."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from hotline.store.delivery import WebhookEvent
from hotline.webhooks.dispatch import event_body
from hotline.webhooks.links import LinkRefused, LinkSigner

SHA = "ab" * 32
NOW = 1_800_000_000.0
BASE = "https://hotline.example.gov.cn"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("case", [None, 42])
def test_a_link_expires_ttl_seconds_from_now_and_checks_until_then(case: int | None) -> None:
    signer = LinkSigner(b"k" * 32)
    url, expires = signer.url(BASE, SHA, 600, now=NOW, case=case)
    assert expires == int(NOW) + 600
    assert url.startswith(f"{BASE}/api/recordings/{SHA}/download?expires={expires}")
    q = _query(url)
    assert q["expires"] == str(expires) and q.get("case") == (None if case is None else "42")
    which = q.get("case", "")
    assert ("case=" in url) == (case is not None)
    # The signature as documented: HMAC-SHA256 of "sha.expires[.case]", URL-safe base64
    # without padding (links already handed out must keep checking).
    signed = f"{SHA}.{expires}" + (f".{case}" if case is not None else "")
    mac = hmac.new(b"k" * 32, signed.encode(), hashlib.sha256).digest()
    assert q["sig"] == base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    if case is None:
        signer.check(SHA, q["expires"], q["sig"], now=NOW)  # no case given: none signed
    signer.check(SHA, q["expires"], q["sig"], now=NOW, case=which)
    signer.check(SHA, q["expires"], q["sig"], now=expires, case=which)  # its last second
    with pytest.raises(LinkRefused) as late:
        signer.check(SHA, q["expires"], q["sig"], now=expires + 1, case=which)
    assert late.value.reason == "expired"


def test_a_fresh_link_checks_against_the_real_clock() -> None:
    signer = LinkSigner(b"k" * 32)
    url, _ = signer.url(BASE, SHA, 600)
    q = _query(url)
    signer.check(SHA, q["expires"], q["sig"])
    old, _ = signer.url(BASE, SHA, 60, now=NOW - 3600 * 24 * 365 * 10)
    with pytest.raises(LinkRefused):
        signer.check(SHA, _query(old)["expires"], _query(old)["sig"])


def test_any_change_to_a_link_refuses_it_as_a_forgery() -> None:
    signer = LinkSigner(b"k" * 32)
    url, expires = signer.url(BASE, SHA, 600, now=NOW, case=7)
    q = _query(url)
    assert len(q["sig"]) == 43 and "=" not in q["sig"]  # 32 bytes, URL-safe, unpadded
    altered = [
        ("cd" * 32, q["expires"], q["sig"], "7"),  # another recording
        (SHA, str(expires + 3600), q["sig"], "7"),  # a longer life
        (SHA, q["expires"], q["sig"], "8"),  # another case
        (SHA, q["expires"], q["sig"], ""),  # the case left out
        (SHA, q["expires"], ("B" if q["sig"][0] == "A" else "A") + q["sig"][1:], "7"),  # itself
        (SHA, "soon", q["sig"], "7"),  # not a time at all
    ]
    for sha, when, sig, case in altered:
        with pytest.raises(LinkRefused) as refused:
            signer.check(sha, when, sig, now=NOW, case=case)
        assert refused.value.reason == "signature", (sha, when, case)
    # Another deployment's key signs differently.
    with pytest.raises(LinkRefused):
        LinkSigner(b"j" * 32).check(SHA, q["expires"], q["sig"], now=NOW, case="7")
    # Signing is deterministic: the same inputs, the same link.
    assert signer.url(BASE, SHA, 600, now=NOW, case=7) == (url, expires)


def test_the_event_body_signs_each_recording_link_for_its_ttl() -> None:
    signer = LinkSigner(b"k" * 32)
    created = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    event = WebhookEvent(
        msg_id="msg_1",
        type="case.transcribed",
        case_id=5,
        data={
            "case": {"number": "HL-2026-000005", "entity_name": "金河水泥厂"},
            "recording": {"sha256": SHA},
            "recordings": [{"sha256": SHA}, {"sha256": "cd" * 32}, {"name": "no hash"}],
        },
        created_at=created,
    )
    before = datetime.now(UTC).timestamp()
    body = json.loads(event_body(event, signer, BASE, 900))
    after = datetime.now(UTC).timestamp()
    assert body["type"] == "case.transcribed" and body["timestamp"] == created.isoformat()
    assert body["data"]["case"] == {"number": "HL-2026-000005", "entity_name": "金河水泥厂"}
    linked = [body["data"]["recording"], *body["data"]["recordings"][:2]]
    for rec in linked:
        assert rec["url"].startswith(f"{BASE}/api/recordings/{rec['sha256']}/download?")
        q = _query(rec["url"])
        expires = int(q["expires"])
        assert int(before) + 900 <= expires <= after + 900 and q["case"] == "5"
        assert datetime.fromisoformat(rec["url_expires_at"]) == datetime.fromtimestamp(
            expires, tz=UTC
        )
        signer.check(rec["sha256"], q["expires"], q["sig"], now=expires, case="5")
    assert body["data"]["recordings"][2] == {"name": "no hash"}  # nothing to link
    assert event.data["recording"] == {"sha256": SHA}  # the stored event is left alone
    # An event with one recording and no list of them.
    single = WebhookEvent(msg_id="m2", type="case.created", data={"recording": {"sha256": SHA}})
    assert "url" in json.loads(event_body(single, signer, BASE, 900))["data"]["recording"]
    compact = event_body(event, signer, BASE, 900)
    assert ", " not in compact and ": " not in compact  # compact separators
    assert "金河水泥厂" in compact  # as is, not \\u-escaped
