"""A minimal case-system receiver for hotline's webhooks: copy it and make it yours.

It verifies every delivery's Standard Webhooks signature with the ``standardwebhooks``
package, drops repeats by ``webhook-id`` (hotline retries until it gets a 2xx, with the
same id every time), downloads the recording through the signed link in the event,
checks its SHA-256 against the one in the event, and prints the case. With ``--witness
FILE`` it also keeps every ``audit.checkpoint`` event, one JSON line each, for
``hotline verify --witness FILE``: the case system as an outside witness of hotline's
audit chain.

    pip install aiohttp standardwebhooks
    HOTLINE_WEBHOOK_SECRET=whsec_... python examples/case_system_receiver.py --port 9000

then point hotline at it: ``HOTLINE_WEBHOOK_URL=http://127.0.0.1:9000/hotline``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Handler = Callable[[dict[str, Any]], Awaitable[None]]

SEEN: web.AppKey[set[str]] = web.AppKey("seen")
VERIFIER: web.AppKey[Webhook] = web.AppKey("verifier")
HANDLER: web.AppKey[Handler] = web.AppKey("handler")


async def fetch_recording(recording: dict[str, Any]) -> bytes:
    """Download through the signed link and refuse bytes that do not match the seal."""
    async with (
        ClientSession(timeout=ClientTimeout(total=60)) as http,
        http.get(recording["url"]) as resp,
    ):
        resp.raise_for_status()
        audio = await resp.read()
    if hashlib.sha256(audio).hexdigest() != recording["sha256"]:
        raise ValueError("the recording does not match its SHA-256: do not use it")
    return audio


def keep_checkpoints(path: str, then: Handler) -> Handler:
    """Append each ``audit.checkpoint`` event to ``path`` (synced before the 2xx, so a
    checkpoint acknowledged is a checkpoint kept), then hand every event to ``then``."""

    def append(line: str) -> None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    async def handle(event: dict[str, Any]) -> None:
        if event.get("type") == "audit.checkpoint":
            line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
            await asyncio.to_thread(append, line)
        await then(event)

    return handle


async def print_case(event: dict[str, Any]) -> None:
    data = event["data"]
    if event["type"] == "audit.checkpoint":
        checkpoint = data["checkpoint"]
        print(f"audit.checkpoint: event {checkpoint['seq']} {checkpoint['hash']}")
        return
    case = data.get("case") or {}
    print(
        f"{event['type']}: {case.get('number')} ({case.get('status')}) "
        f"caller {case.get('caller', {}).get('number')}"
    )
    if data.get("incident"):
        print(f"  incident: {data['incident']['detail']}")
    transcript = case.get("transcript")
    if transcript:
        print(f"  transcript v{transcript['version']}: {transcript['text']}")
    if data.get("recording"):
        audio = await fetch_recording(data["recording"])
        print(f"  recording: {len(audio)} bytes, SHA-256 verified")


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        event = request.app[VERIFIER].verify(body, dict(request.headers))
    except WebhookVerificationError as exc:
        return web.json_response({"error": str(exc)}, status=401)
    msg_id = request.headers["webhook-id"]
    if msg_id in request.app[SEEN]:
        return web.json_response({"ok": True, "duplicate": True})  # already handled
    await request.app[HANDLER](event)
    request.app[SEEN].add(msg_id)  # only once handled: a failure gets a retry
    return web.json_response({"ok": True})


def make_app(secret: str, handler: Handler = print_case, path: str = "/hotline") -> web.Application:
    app = web.Application()
    app[SEEN] = set()
    app[VERIFIER] = Webhook(secret)
    app[HANDLER] = handler
    app.router.add_post(path, receive)
    return app


def main() -> None:
    ap = argparse.ArgumentParser(description="print hotline's cases as they arrive")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=9000)
    ap.add_argument("--witness", metavar="FILE", help="keep audit.checkpoint events here")
    args = ap.parse_args()
    secret = os.environ.get("HOTLINE_WEBHOOK_SECRET")
    if not secret:
        raise SystemExit("set HOTLINE_WEBHOOK_SECRET to the secret hotline signs with")
    handler = keep_checkpoints(args.witness, print_case) if args.witness else print_case
    web.run_app(make_app(secret, handler), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
