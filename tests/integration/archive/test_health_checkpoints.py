"""What an agency copies out of ``/api/health`` to keep elsewhere: the public key with
its fingerprint, and the newest checkpoint of the audit chain."""

from __future__ import annotations

from hotline.evidence.keys import PublicKey
from tests.support.web_server import WebRig


async def test_health_details_carry_the_public_key_and_the_newest_checkpoint(
    rig: WebRig,
) -> None:
    supervisor = await rig.sign_in("supervisor")
    status, body, _ = await supervisor.get("/api/health")
    assert status == 200, body
    key = PublicKey.from_pem(body["signing_key"]["public_key"].encode())
    assert key.fingerprint == body["signing_key"]["fingerprint"] == rig.core.key.fingerprint
    assert body["checkpoints"]["newest"] is None
    assert body["checkpoints"]["interval_seconds"] == 600
    assert body["checkpoints"]["timestamp_authority"] is None

    made = await rig.core.checkpoints.make("cli:test")
    assert made is not None
    status, body, _ = await supervisor.get("/api/health")
    newest = body["checkpoints"]["newest"]
    assert (newest["event_seq"], newest["hash"]) == (made.event_seq, made.checkpoint.hash)

    anonymous = rig.anonymous()
    status, body, _ = await anonymous.get("/api/health")
    assert set(body) == {"status"}  # the details are for those who may read metrics
