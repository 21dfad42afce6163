"""A recording kept on S3 (SeaweedFS on loopback) plays and seeks in the browser like
one on local disk: HTTP Range answered from the object's own version, streamed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hotline.config import Settings
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed
from tests.support.web_data import open_case
from tests.support.web_server import hotline_core, serve_web

pytestmark = pytest.mark.timeout(90)


async def test_range_requests_on_a_recording_kept_on_s3(
    seaweed: Seaweed, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    bucket = seaweed.bucket()
    settings = make_settings(
        evidence_url=f"s3://{bucket}/web",
        s3_endpoint_url=seaweed.endpoint,
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
    )
    async with hotline_core(settings) as core, serve_web(core) as rig:
        await rig.add_user("handler", "handler")
        case = await open_case(core, tmp_path, seed=31)
        handler = await rig.sign_in("handler")
        status, audio, resp = await handler.get(f"/api/cases/{case.id}/recording")
        assert status == 200 and audio[:4] == b"RIFF"
        assert resp.headers["Accept-Ranges"] == "bytes"
        etag = resp.headers["ETag"]
        status, part, resp = await handler.get(
            f"/api/cases/{case.id}/recording", headers={"Range": "bytes=1000-1999"}
        )
        assert status == 206 and part == audio[1000:2000]
        assert resp.headers["Content-Range"] == f"bytes 1000-1999/{len(audio)}"
        status, tail, _ = await handler.get(
            f"/api/cases/{case.id}/recording", headers={"Range": "bytes=-44"}
        )
        assert status == 206 and tail == audio[-44:]
        # If-Range with another tag: the whole recording, not a piece of other bytes.
        status, whole, _ = await handler.get(
            f"/api/cases/{case.id}/recording",
            headers={"Range": "bytes=0-9", "If-Range": '"other"'},
        )
        assert status == 200 and whole == audio
        status, part, _ = await handler.get(
            f"/api/cases/{case.id}/recording", headers={"Range": "bytes=0-9", "If-Range": etag}
        )
        assert status == 206 and part == audio[:10]
        status, _, resp = await handler.get(
            f"/api/cases/{case.id}/recording", headers={"Range": f"bytes={len(audio)}-"}
        )
        assert status == 416 and resp.headers["Content-Range"] == f"bytes */{len(audio)}"
