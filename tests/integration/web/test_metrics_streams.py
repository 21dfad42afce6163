"""``hotline_event_streams``: the open server-sent event streams, as they open and close."""

from __future__ import annotations

import re

from aiohttp import ClientSession

from hotline.calls import CallStarted
from hotline.store.types import utcnow
from tests.support.waiting import until
from tests.support.web_server import WebRig
from tests.support.web_sse import EventReader


async def _open_streams(rig: WebRig, client: ClientSession) -> int:
    text = (await (await client.get(rig.url + "/metrics")).read()).decode()
    assert "# TYPE hotline_event_streams gauge" in text
    (value,) = re.findall(r"^hotline_event_streams (\d+)$", text, re.MULTILINE)
    return int(value)


async def test_the_metric_counts_the_open_event_streams(rig: WebRig) -> None:
    reader = {"Authorization": f"Bearer {await rig.token('auditor', 'prometheus')}"}
    watcher = {"Authorization": f"Bearer {await rig.token('supervisor', 'wallboard')}"}
    async with ClientSession(headers=reader) as metrics, ClientSession(headers=watcher) as sse:
        assert await _open_streams(rig, metrics) == 0
        streams = [await sse.get(rig.url + "/api/events") for _ in range(3)]
        for resp in streams:  # each stream is served (its snapshot came) before counting
            assert (await EventReader(resp).next())[0] == "snapshot"
        assert await _open_streams(rig, metrics) == 3
        streams.pop().close()  # the client hangs up

        calls = iter(range(1000))

        async def counted(n: int) -> bool:
            # The server learns of a hang-up when it next writes to the stream (else at
            # its keep-alive, 15 s on): give it something to send, a call ringing.
            await rig.core.on_fact(
                CallStarted(call_id=f"c-{next(calls)}", source="sip", at=utcnow(), caller="1")
            )
            return await _open_streams(rig, metrics) == n

        await until(lambda: counted(2), within=10)
        for resp in streams:
            resp.close()
        await until(lambda: counted(0), within=10)
