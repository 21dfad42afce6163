"""One call on the SIP line as the line sees it: its state, its media, its facts."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from hotline.rtp.recording import CallRecorder
from hotline.rtp.session import MediaSession
from hotline.sip import sdp
from hotline.sip.events import Peer
from hotline.sip.sdp import Negotiated, SessionDescription
from hotline.sip.status import LiveCallStatus


@dataclass(eq=False, slots=True)
class OperatorLeg:
    """The call the line places to the operator to bridge a caller to."""

    dialled_clock: float
    state: str = "dialling"  # dialling → ringing → answered → ended
    call_id: str = ""
    media: MediaSession | None = None
    our_sdp: SessionDescription | None = None
    answered_offset: float | None = None
    """Seconds from the caller's answer to the operator's."""
    result: str = ""
    """``answered``, ``refused 486``, ``no answer``, ``cancelled``, ``failed: …``."""

    @property
    def live(self) -> bool:
        return self.state in ("dialling", "ringing", "answered")


@dataclass(eq=False, slots=True)
class LiveCall:
    call_id: str
    caller: str
    caller_name: str
    callee: str
    peer: Peer
    started_at: datetime
    offer: SessionDescription | None
    state: str = "ringing"  # ringing → answered → ended
    media: MediaSession | None = None
    recorder: CallRecorder | None = None
    negotiated: Negotiated | None = None
    our_sdp: SessionDescription | None = None
    """Our last offer or answer (its o= version goes up when it changes)."""
    awaiting_answer: bool = False
    """We sent an offer (offerless INVITE or re-INVITE) whose answer comes in the ACK."""
    answered_at: datetime | None = None
    answered_clock: float = 0.0
    ended_clock: float | None = None
    cause: str = ""
    on_hold: bool = False
    session_id: int = 0
    operator: OperatorLeg | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    key: str = ""
    """The call's identity in its facts and in the store (``call_key``): the SIP dialog
    is ``call_id``, which a caller's phone chooses and may use again."""

    def describe(
        self, offer: SessionDescription | None, address: str, codecs: tuple[str, ...]
    ) -> tuple[SessionDescription, Negotiated | None]:
        """Our answer to ``offer`` (or our offer when there is none). The o= version
        goes up only when the description changes (RFC 3264 §8)."""
        assert self.media is not None
        version = int(self.our_sdp.origin.split()[2]) if self.our_sdp else 0
        port, negotiated = self.media.local_port, None
        if offer is None:
            ours = sdp.offer(
                address=address,
                port=port,
                session_id=self.session_id,
                version=version,
                codecs=codecs,
            )
        else:
            ours, negotiated = sdp.answer(
                offer,
                address=address,
                port=port,
                session_id=self.session_id,
                version=version,
                codecs=codecs,
            )
        if self.our_sdp is not None:
            if _body(self.our_sdp) == _body(ours):
                return self.our_sdp, negotiated
            origin = ours.origin.split()
            origin[2] = str(version + 1)
            ours = replace(ours, origin=" ".join(origin))
        return ours, negotiated

    def apply(self, negotiated: Negotiated, now: float) -> bool:
        """Point the media at what was negotiated; True when the notice should play."""
        media = self.media
        assert media is not None
        self.negotiated = negotiated
        media.remote = negotiated.remote
        media.send_codec, media.send_payload_type = negotiated.codec, negotiated.payload_type
        media.codecs[negotiated.payload_type] = negotiated.codec
        media.event_payload_type = negotiated.event_payload_type
        on_hold = not (negotiated.receiving and negotiated.sending)
        if self.on_hold and not on_hold:
            media.last_packet_at = now  # the silence timeout starts again after a hold
        if on_hold != self.on_hold:
            media.timeline.pause()  # a sender may leave its clock where it was on hold
        media.receiving, media.sending = negotiated.receiving, negotiated.sending
        self.on_hold = on_hold
        return self.state == "answered" and media.sending and media.notice_state != "complete"

    def end(self, cause: str, now: float) -> bool:
        """Mark the call over (first cause wins); False if it already was."""
        if self.ended_clock is not None:
            return False
        self.ended_clock, self.cause = now, cause
        self.done.set()
        return True

    def status(self) -> LiveCallStatus:
        since = self.answered_at or self.started_at
        return LiveCallStatus(self.call_id, self.caller, self.state, since, self.peer.transport)


KEY_CALL_ID = 96
"""Characters of the Call-ID kept in a call's key (the store keeps 128 in all)."""


def call_key(call_id: str, started_at: datetime) -> str:
    """The Call-ID and the instant the INVITE came, ``<Call-ID>~<UTC time>``: a phone
    that uses a Call-ID again after the call ended (a restarted softphone, a gateway
    counting from one) makes another call, with its own case and recording, not one
    more recording of the first call."""
    return f"{call_id[:KEY_CALL_ID]}~{started_at.astimezone(UTC):%Y%m%dT%H%M%S.%fZ}"


_UNSAFE = re.compile(r"[^0-9A-Za-z+._-]")


def recording_name(directory: Path, call: LiveCall, at: datetime) -> Path:
    """``<UTC time>-<caller>-<call id hash>.wav``: sortable, unique, safe on any disk."""
    caller = _UNSAFE.sub("_", call.caller)[:32] or "unknown"
    digest = hashlib.sha256((call.key or call.call_id).encode()).hexdigest()[:10]
    return directory / f"{at:%Y%m%dT%H%M%SZ}-{caller}-{digest}.wav"


def _body(sd: SessionDescription) -> bytes:
    """The description without its o= line, to tell whether it changed."""
    return bytes(replace(sd, origin="-"))
