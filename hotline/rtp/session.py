"""The media of one call: one UDP endpoint (``hotline.rtp.endpoint``) on one RTP port.

It records what the caller sends (channel 1) and plays the recording notice, keeping
what it sent on channel 2. Per packet the work is O(1): parse the header, pass through
the jitter buffer, decode one 20 ms payload into the recorder's block buffer. Nothing
here owns a task or a timer: the SIP line drives ``play_due`` from one shared 20 ms
clock and ``housekeeping`` from a slower one.

When the line bridges the caller to an operator, the operator's leg is a second
session on the same recorder and timeline: what it receives goes to channel 2 (what
the caller hears), and each session hands every packet it receives to the other
(``relay``), re-stamped as its own stream and converted between µ-law and A-law when
the two legs differ.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hotline.errors import RTPError
from hotline.rtp import g711
from hotline.rtp.endpoint import RtpEndpoint
from hotline.rtp.jitterbuffer import Frame, JitterBuffer
from hotline.rtp.packet import RtpPacket, TelephoneEvent, build
from hotline.rtp.recording import CALLER, RATE, SENT, CallRecorder
from hotline.rtp.timeline import Timeline

log = logging.getLogger(__name__)

PTIME = 0.02
FRAME = int(RATE * PTIME)
KEEPALIVE = 1.0


@dataclass(frozen=True, slots=True)
class Notice:
    """A prompt ready to send: 16-bit samples at 8 kHz, padded to whole 20 ms frames."""

    name: str
    samples: g711.Samples
    payloads: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict)

    @classmethod
    def from_samples(cls, name: str, samples: g711.Samples) -> Notice:
        padded = np.zeros(-(-len(samples) // FRAME) * FRAME, dtype=np.int16)
        padded[: len(samples)] = samples
        payloads = {}
        for codec in (g711.PCMU, g711.PCMA):
            coded = g711.encode(padded, codec)
            payloads[codec] = tuple(coded[i : i + FRAME] for i in range(0, len(coded), FRAME))
        return cls(name=name, samples=padded, payloads=payloads)

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


class MediaSession:
    def __init__(self, notice: Notice | None, *, call_id: str, channel: int = CALLER) -> None:
        self.recorder: CallRecorder | None = None
        self.channel = channel
        """Where what this session receives is recorded."""
        self.relay: MediaSession | None = None
        """The session that sends on what this one receives (the other leg of a bridge)."""
        self.notice = notice
        self.call_id = call_id
        self.transport: RtpEndpoint | None = None
        self.remote: tuple[str, int] | None = None
        self.codecs: dict[int, str] = {0: g711.PCMU, 8: g711.PCMA}
        self.send_codec = g711.PCMU
        self.send_payload_type = 0
        self.event_payload_type: int | None = None
        self.receiving = True
        """The caller sends to us (not on hold / inactive)."""
        self.sending = True
        self.answered_at: float | None = None
        self.last_packet_at = 0.0
        self.jitter = JitterBuffer()
        self.timeline = Timeline()
        self.invalid = 0
        self.foreign = 0
        self.codecs_heard: set[str] = set()
        self.digits: list[str] = []
        self._last_event_ts: int | None = None
        self._audio_ssrc: int | None = None
        """The source of the caller's audio: only its other packets share its numbers."""
        self._ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._notice_index = 0
        self._notice_position = 0
        self.notice_unsent = 0
        """Notice frames that did not go out (the socket's send buffer was full, or the
        send failed): the recording holds them, the caller did not hear them."""
        self._next_due: float | None = None
        self._last_sent_at: float | None = None

    # hotline.rtp.endpoint.Receiver
    def connection_made(self, transport: RtpEndpoint) -> None:
        self.transport = transport

    def datagram_received(
        self, data: bytes, addr: tuple[str | int, ...], arrival: float | None = None
    ) -> None:
        """One datagram, which reached the host at ``arrival`` on the loop's clock (the
        kernel's stamp; now if not given)."""
        if self.answered_at is None:
            return  # recording runs from answer; nothing to keep before it
        now = asyncio.get_running_loop().time()
        arrived = now if arrival is None else max(arrival, self.answered_at)
        try:
            packet = RtpPacket.parse(data)
        except RTPError:
            self.invalid += 1
            return
        arrival_at = round((arrived - self.answered_at) * RATE)
        codec = self.codecs.get(packet.payload_type)
        if packet.payload_type == self.event_payload_type or codec is None:
            if packet.payload_type == self.event_payload_type:
                self._event(packet)
            else:
                self.foreign += 1
            if packet.ssrc == self._audio_ssrc:
                # Events and comfort noise of the caller's stream take its numbers too:
                # the gap they leave in the audio is no loss.
                self._place_all(self.jitter.add(packet, arrival_at, audio=False))
            return
        self._audio_ssrc = packet.ssrc
        self.last_packet_at = now
        self.codecs_heard.add(codec)
        if self.relay is not None:
            self.relay.forward(packet.payload, codec, now)
        self._place_all(self.jitter.add(packet, arrival_at))

    def _place_all(self, frames: list[Frame]) -> None:
        for frame in frames:
            self._place(frame)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc, extra={"call_id": self.call_id})

    @property
    def local_port(self) -> int:
        assert self.transport is not None
        port: int = self.transport.get_extra_info("sockname")[1]
        return port

    def start(self, now: float, recorder: CallRecorder, origin: float | None = None) -> None:
        """The call is answered: recording starts now, and the notice with it. An
        operator's leg joins the caller's recording, whose timeline began at ``origin``."""
        self.recorder = recorder
        self.answered_at = now if origin is None else origin
        self.last_packet_at = now

    def forward(self, payload: bytes, codec: str, now: float) -> None:
        """Send on a payload the other leg received (bridged calls)."""
        if not self.sending or self.remote is None or self.transport is None:
            return
        if codec != self.send_codec:
            payload = payload.translate(g711.TRANSCODE[(codec, self.send_codec)])
        late = self._last_sent_at is not None and now - self._last_sent_at > 0.1
        self._send(payload, now, jump=late)

    def position(self, now: float) -> int:
        return 0 if self.answered_at is None else round((now - self.answered_at) * RATE)

    @property
    def notice_state(self) -> str:
        if self.notice is None:
            return "none"
        total = len(self.notice.payloads[g711.PCMU])
        return (
            "complete"
            if self._notice_index >= total
            else f"partial ({self._notice_index}/{total} frames)"
        )

    def notice_seconds(self) -> dict[str, str]:
        """The notice's length, how much of it went out, and how much of that the socket
        could not send, in seconds (what a case says of it; ``notice_played`` words it)."""
        if self.notice is None:
            return {}
        total = len(self.notice.payloads[g711.PCMU])
        return {
            "notice_seconds": f"{total * PTIME:.2f}",
            "notice_played_seconds": f"{min(self._notice_index, total) * PTIME:.2f}",
            "notice_unsent_seconds": f"{self.notice_unsent * PTIME:.2f}",
        }

    def play_due(self, now: float) -> bool:
        """Send the notice frames whose time has come; False once there is nothing left."""
        if self.notice is None or self.answered_at is None or self.recorder is None:
            return False
        frames = self.notice.payloads[self.send_codec]
        if self._notice_index >= len(frames):
            return False
        if not self.sending or self.remote is None or self.transport is None:
            self._next_due = None  # resumes from the same frame once sending again
            return True
        restart = self._next_due is None or now - self._next_due > 0.2
        if restart or self._notice_index == 0:
            # First frame, back from hold, or the loop stalled: restart the pacing here.
            self._next_due = now
            self._notice_position = self.position(now)
        assert self._next_due is not None
        while self._next_due <= now + 0.002 and self._notice_index < len(frames):
            payload = frames[self._notice_index]
            if not self._send(payload, now, jump=restart):
                self.notice_unsent += 1
            restart = False
            self.recorder.put_g711(SENT, self._notice_position, payload, self.send_codec)
            self._notice_index += 1
            self._notice_position += FRAME
            self._next_due += PTIME
        return self._notice_index < len(frames)

    def keepalive(self, now: float) -> None:
        """Once the notice is over, one silent frame a second, so that a PBX or trunk
        with an RTP timeout (Asterisk's ``rtptimeout``) and NAT bindings keep the call."""
        if self.notice is not None and self._notice_index < len(self.notice.payloads[g711.PCMU]):
            return
        if not self.sending or self.remote is None or self.transport is None:
            return
        if self._last_sent_at is None or now - self._last_sent_at >= KEEPALIVE:
            self._send(bytes([g711.SILENCE[self.send_codec]]) * FRAME, now, jump=True)

    def _send(self, payload: bytes, now: float, *, jump: bool = False) -> bool:
        assert self.transport is not None and self.remote is not None
        marker = self._last_sent_at is None
        if jump and self._last_sent_at is not None:
            # After a pause (hold, keepalive, a stalled loop) the timestamp follows the
            # clock (RFC 3550 §5.1) and the marker starts a new talkspurt.
            gap = round((now - self._last_sent_at) * RATE) - FRAME
            self._ts = (self._ts + max(0, gap)) & 0xFFFFFFFF
            marker = True
        data = build(self.send_payload_type, self._seq, self._ts, self._ssrc, payload, marker)
        sent = self.transport.sendto(data, self.remote)
        self._seq = (self._seq + 1) & 0xFFFF  # a frame not sent is a loss to the peer
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF
        self._last_sent_at = now
        return sent

    def housekeeping(self, now: float) -> None:
        """Release packets stuck behind a gap once the sender went quiet; write blocks."""
        if len(self.jitter) and now - self.last_packet_at > 0.1:
            for frame in self.jitter.flush():
                self._place(frame)
        if self.recorder is not None:
            self.recorder.advance(self.position(now))

    def finish(self) -> None:
        """The call is over: place whatever the jitter buffer still holds."""
        for frame in self.jitter.flush():
            self._place(frame)
        if self.transport is not None:
            self.transport.close()

    def _place(self, frame: Frame) -> None:
        packet = frame.packet
        position = self.timeline.place(
            packet.ssrc, packet.timestamp, frame.arrival, len(packet.payload)
        )
        codec = self.codecs[packet.payload_type]
        assert self.recorder is not None
        self.recorder.put_g711(self.channel, position, packet.payload, codec)

    def _event(self, packet: RtpPacket) -> None:
        try:
            event = TelephoneEvent.parse(packet.payload)
        except RTPError:
            self.invalid += 1
            return
        # RFC 4733 §2.5.1.4: the end packet is sent three times with one timestamp.
        if event.end and packet.timestamp != self._last_event_ts:
            self._last_event_ts = packet.timestamp
            self.digits.append(event.digit)

    def details(self) -> dict[str, str]:
        stats = self.jitter.stats
        return {
            "packets_received": str(stats.received),
            "packets_lost": str(stats.lost),
            "packets_late": str(stats.late),
            "packets_duplicate": str(stats.duplicate),
            "packets_invalid": str(self.invalid + self.foreign),
            "codec": ",".join(sorted(self.codecs_heard)) or "none",
            "notice": self.notice.name if self.notice else "",
            "notice_played": self.notice_state,
            "notice_frames_unsent": str(self.notice_unsent),
            **self.notice_seconds(),
            "packets_unsent": str(self.transport.dropped if self.transport else 0),
            "dtmf": "".join(self.digits),
            "samples_discarded": str(self.recorder.discarded if self.recorder else 0),
            "samples_late": str(self.recorder.late if self.recorder else 0),
            "rtp_reanchors": str(self.timeline.reanchors),
        }


async def open_media(media: MediaSession, host: str, ports: tuple[int, int] | None) -> None:
    """Bind ``media`` to an even port in ``ports`` (RTP convention), or any port if ``None``."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low, high = ports or (0, 0)
    for attempt in range(64):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        port = 0 if ports is None else (random.randrange(low, high + 1) & ~1) or low
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            if ports is None or attempt == 63:
                raise
            continue
        RtpEndpoint(sock, media, loop)  # makes it non-blocking
        return
