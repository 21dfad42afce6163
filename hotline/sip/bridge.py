"""Bridging the caller to an operator (``HOTLINE_SIP_OPERATOR``).

Once the notice has played, the line places a call to the operator's phone (the user
agent's ``dial``) on a second RTP port. When it is answered the two media sessions
relay to each other and share the caller's recording: the operator's voice is recorded
on channel 2, which is what the caller heard (the notice, then the operator). If the
operator does not answer within ``operator_ring_seconds``, is busy or cannot be
reached, the caller stays on the line and is recorded alone; when the operator hangs
up, the line hangs up the caller; when the caller hangs up, the operator's leg ends.
What happened is kept in the recording's details (``operator``, ``operator_result``,
``operator_answered_after``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from hotline.errors import SIPProtocolError
from hotline.rtp.recording import SENT
from hotline.rtp.session import MediaSession, open_media
from hotline.sip import events as ev
from hotline.sip import sdp
from hotline.sip.agent import UserAgent
from hotline.sip.call import LiveCall, OperatorLeg
from hotline.sip.config import SIPConfig
from hotline.sip.transport import Transports

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BridgeHooks:
    """What the bridge needs of the line that owns it."""

    agent: Callable[[], UserAgent | None]
    process: Callable[[], None]
    """Act on the agent's events and send what it has to send."""
    spawn: Callable[[Coroutine[Any, Any, None], str], None]
    hangup: Callable[[LiveCall, str], None]
    """Hang up the caller's call."""
    now: Callable[[], float]


class OperatorBridge:
    def __init__(self, config: SIPConfig, net: Transports, hooks: BridgeHooks) -> None:
        self.config = config
        self._net = net
        self._hooks = hooks
        self.legs: dict[str, LiveCall] = {}
        """The operator leg's Call-ID → the caller's call it bridges."""

    def ringing(self, event: ev.OutgoingRinging) -> None:
        call = self.legs.get(event.call_id)
        if call is not None and call.operator is not None:
            call.operator.state = "ringing"

    def leg_ended(self, event: ev.CallEnded) -> bool:
        """The agent ended a call: True when it was one of ours."""
        call = self.legs.pop(event.call_id, None)
        if call is None:
            return False
        self._ended(call, event.cause)
        return True

    def housekeeping(self, call: LiveCall, media: MediaSession, now: float) -> None:
        """Ring the operator once the notice has played; give up after the ring time."""
        config, leg = self.config, call.operator
        if not config.operator:
            return
        if leg is None:
            if media.notice_state in ("complete", "none"):
                call.operator = OperatorLeg(dialled_clock=now)
                self._hooks.spawn(self._dial(call), f"sip-operator-{call.call_id[:40]}")
            return
        if leg.media is not None:
            leg.media.housekeeping(now)
        late = now - leg.dialled_clock > config.operator_ring_seconds
        if leg.state == "ringing" and late:
            leg.result = f"no answer in {config.operator_ring_seconds:g} s"
            self._hangup_leg(leg)

    async def _dial(self, call: LiveCall) -> None:
        leg, agent = call.operator, self._hooks.agent()
        assert leg is not None and agent is not None and call.media is not None
        try:
            uri = await self._net.resolve(self.config.operator_uri())
            transport = uri.params.get("transport", "udp").lower()
            peer = ev.Peer(transport, uri.host, uri.port or 5060)
            media = MediaSession(None, call_id=call.call_id, channel=SENT)
            await open_media(media, self.config.host, self.config.rtp_port_range)
        except (OSError, SIPProtocolError) as exc:
            log.error("cannot ring the operator: %s", exc, extra={"call_id": call.call_id})
            leg.state, leg.result = "ended", f"failed: {exc}"
            return
        leg.media = media
        if call.ended_clock is not None:  # the caller left while we got ready
            leg.state, leg.result = "ended", "caller hung up"
            media.finish()
            return
        leg.our_sdp = sdp.offer(
            address=self._net.local(peer)[0],
            port=media.local_port,
            session_id=random.getrandbits(40),
            version=0,
            codecs=self.config.codecs,
        )
        leg.call_id = agent.dial(
            uri, peer, bytes(leg.our_sdp), self._hooks.now(), caller=call.caller_name or call.caller
        )
        self.legs[leg.call_id] = call
        self._hooks.process()
        log.info("ringing the operator for call %s", call.call_id, extra={"call_id": call.call_id})

    def answered(self, event: ev.OutgoingAnswered) -> None:
        call = self.legs.get(event.call_id)
        leg = call.operator if call is not None else None
        if call is None or leg is None or leg.media is None or leg.our_sdp is None:
            return
        assert call.media is not None and call.media.recorder is not None
        try:
            negotiated = sdp.accept_answer(leg.our_sdp, sdp.SessionDescription.parse(event.answer))
        except SIPProtocolError as exc:
            log.warning("operator's SDP unusable: %s", exc, extra={"call_id": call.call_id})
            leg.result = f"failed: {exc}"
            self._hangup_leg(leg)
            return
        now = self._hooks.now()
        _point(leg.media, negotiated)
        leg.media.start(now, call.media.recorder, origin=call.answered_clock)
        leg.state, leg.result = "answered", "answered"
        leg.answered_offset = round(now - call.answered_clock, 3)
        call.media.relay, leg.media.relay = leg.media, call.media
        log.info("operator answered call %s", call.call_id, extra={"call_id": call.call_id})

    def reoffer(self, event: ev.OfferReceived) -> None:
        """The operator's phone holds, resumes or refreshes: answer from the same port."""
        agent, call, now = self._hooks.agent(), self.legs[event.call_id], self._hooks.now()
        leg = call.operator
        assert agent is not None and leg is not None
        try:
            if leg.media is None or not event.offer:
                raise SIPProtocolError("no offer", 488, "Not Acceptable Here")
            ours, negotiated = sdp.answer(
                sdp.SessionDescription.parse(event.offer),
                address=self._net.local(call.peer)[0],
                port=leg.media.local_port,
                session_id=random.getrandbits(40),
                version=1,
                codecs=self.config.codecs,
            )
        except SIPProtocolError as exc:
            agent.reject_offer(event.call_id, exc.status, exc.reason, now)
            return
        _point(leg.media, negotiated)
        agent.accept_offer(event.call_id, bytes(ours), now)

    def _ended(self, call: LiveCall, cause: str) -> None:
        leg = call.operator
        if leg is None:
            return
        answered = leg.state == "answered"
        leg.state = "ended"
        leg.result = leg.result or cause  # "answered", or why we gave up, stays
        self._unbridge(call)
        if answered and call.ended_clock is None:
            self._hooks.hangup(call, "operator hung up")

    def end(self, call: LiveCall, reason: str) -> None:
        """The caller's call is over: end the operator's leg if it still runs."""
        leg = call.operator
        if leg is None or not leg.live:
            return  # never rung, or already ended (and unbridged) by ``_ended``
        if leg.call_id:
            self.legs.pop(leg.call_id, None)
            self._hangup_leg(leg, reason)
        leg.state = "ended"
        self._unbridge(call)

    def _hangup_leg(self, leg: OperatorLeg, reason: str = "") -> None:
        agent = self._hooks.agent()
        if agent is not None and leg.call_id:
            agent.hangup(leg.call_id, self._hooks.now(), reason=reason)
            self._hooks.process()

    def _unbridge(self, call: LiveCall) -> None:
        leg = call.operator
        if call.media is not None:
            call.media.relay = None
        if leg is not None and leg.media is not None:
            leg.media.relay = None
            leg.media.finish()  # what it still holds goes into the recording

    def details(self, call: LiveCall) -> dict[str, str]:
        leg = call.operator
        if not self.config.operator:
            return {}
        if leg is None:
            return {"operator": self.config.operator, "operator_result": "not rung"}
        details = {"operator": self.config.operator, "operator_result": leg.result}
        if leg.answered_offset is not None:
            details["operator_answered_after"] = f"{leg.answered_offset:.3f}"
        return details


def _point(media: MediaSession, negotiated: sdp.Negotiated) -> None:
    """Aim a leg's media at what was negotiated with the operator's phone."""
    media.remote = negotiated.remote
    media.send_codec, media.send_payload_type = negotiated.codec, negotiated.payload_type
    media.codecs[negotiated.payload_type] = negotiated.codec
    media.event_payload_type = negotiated.event_payload_type
    media.receiving, media.sending = negotiated.receiving, negotiated.sending
