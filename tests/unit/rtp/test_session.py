"""One call's media over loopback UDP, driven with explicit times: the notice goes out
in 20 ms frames and lands on channel 2, the caller's RTP lands on channel 1 by its
timestamps, DTMF is read, and after the notice a silent frame a second keeps the call."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.rtp.endpoint import RtpEndpoint
from hotline.rtp.packet import RtpPacket, TelephoneEvent
from hotline.rtp.recording import CallRecorder
from hotline.rtp.session import MediaSession, Notice, open_media
from tests.support import g711_reference as reference

pytestmark = pytest.mark.timeout(30)


async def test_notice_caller_audio_dtmf_and_keepalive(tmp_path: Path) -> None:
    tone = (8000 * np.sin(np.arange(800) / 5)).astype(np.int16)  # 0.1 s: five frames
    media = MediaSession(Notice.from_samples("tone", tone), call_id="c1")
    await open_media(media, "127.0.0.1", None)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    media.remote = peer.getsockname()
    media.event_payload_type = 101
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    media.start(t0, CallRecorder(tmp_path / "call.wav"))

    assert media.play_due(t0 + 0.041)  # frames due at +0, +20, +40 ms
    for step in (0.06, 0.08, 0.3):
        media.play_due(t0 + step)
    assert media.notice_state == "complete"
    sent = [RtpPacket.parse(await loop.sock_recv(peer, 2048)) for _ in range(5)]
    assert [p.sequence_number - sent[0].sequence_number for p in sent] == [0, 1, 2, 3, 4]
    assert [p.timestamp - sent[0].timestamp for p in sent] == [0, 160, 320, 480, 640]
    assert sent[0].marker and not any(p.marker for p in sent[1:])

    media.keepalive(t0 + 1.5)
    silent = RtpPacket.parse(await loop.sock_recv(peer, 2048))
    assert silent.payload == b"\xff" * 160 and silent.marker
    assert silent.timestamp - sent[-1].timestamp == round((1.5 - 0.3) * 8000)  # follows the clock

    speech = reference.encode(tone, "PCMU")
    for index in (0, 2, 1, 3, 4):  # reordered on the way
        packet = RtpPacket(
            0, 50 + index, 9000 + 160 * index, 77, speech[160 * index : 160 * (index + 1)]
        )
        peer.sendto(bytes(packet), ("127.0.0.1", media.local_port))
    # "5", its end packet three times, numbered on from the audio (RFC 4733 §2.1): the
    # numbers they take are no loss.
    for n, duration in enumerate((160, 320, 320, 320)):
        event = TelephoneEvent(5, duration == 320, 10, duration)
        peer.sendto(
            bytes(RtpPacket(101, 55 + n, 20000, 77, bytes(event))),
            ("127.0.0.1", media.local_port),
        )
    # Comfort noise of the same stream, then audio again: still nothing lost.
    peer.sendto(bytes(RtpPacket(13, 59, 20160, 77, b"\x40")), ("127.0.0.1", media.local_port))
    peer.sendto(
        bytes(RtpPacket(0, 60, 9000 + 160 * 5, 77, speech[:160])), ("127.0.0.1", media.local_port)
    )
    peer.sendto(b"\x00 not rtp", ("127.0.0.1", media.local_port))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if media.jitter.stats.received == 6 and media.digits and media.invalid:
            break
    media.finish()
    path = media.recorder.close(16000) if media.recorder else None
    peer.close()

    details = media.details()
    assert details["packets_received"] == "6" and details["packets_lost"] == "0"
    assert details["dtmf"] == "5" and details["packets_invalid"] == "2"  # junk, and CN
    assert details["notice_played"] == "complete" and details["codec"] == "PCMU"
    whole = f"{-(-len(tone) // 160) * 0.02:.2f}"  # in whole 20 ms frames
    assert details["notice_seconds"] == details["notice_played_seconds"] == whole
    assert details["notice_unsent_seconds"] == "0.00"
    assert path is not None
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert len(frames) == 16000
    first = round(0.041 * 8000)  # the first frame went out 41 ms after answer
    sent_channel = frames[first : first + len(tone), 1]
    assert not frames[:first, 1].any()
    assert np.array_equal(sent_channel, reference.decode(reference.encode(tone, "PCMU"), "PCMU"))
    caller, expected = frames[:, 0], reference.decode(speech, "PCMU")
    start = int(np.flatnonzero(caller)[0] - np.flatnonzero(expected)[0])
    assert np.array_equal(caller[start : start + 800], expected)  # in timestamp order


async def test_notice_frames_the_socket_could_not_send_are_counted(tmp_path: Path) -> None:
    """A peer that does not read (its queue full): sending must not block the loop, and
    the frames that did not go out are counted: the recording holds the whole notice,
    the caller heard less of it."""
    tone = (8000 * np.sin(np.arange(8000) / 5)).astype(np.int16)  # 1 s: fifty frames
    media = MediaSession(Notice.from_samples("tone", tone), call_id="c2")
    # A Unix datagram socket: the kernel refuses a send while the receiver holds the
    # sender's buffer, the smallest there is (on loopback UDP the receiver drops instead,
    # and the sender never sees it).
    peer = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    peer.bind(f"\0hotline-notice-{id(media)}")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1)
    RtpEndpoint(sock, media, asyncio.get_running_loop())
    media.remote = peer.getsockname()
    t0 = asyncio.get_running_loop().time()
    media.start(t0, CallRecorder(tmp_path / "call.wav"))
    for step in range(60):  # fifty frames in 20 ms steps, the peer reading none
        media.play_due(t0 + step * 0.02)
    assert media.notice_state == "complete"

    queued = 0
    peer.setblocking(False)
    with contextlib.suppress(BlockingIOError):
        while peer.recv(2048):
            queued += 1
    details = media.details()
    unsent = int(details["notice_frames_unsent"])
    assert 0 < queued < 25 and unsent == 50 - queued, (queued, unsent)
    assert details["packets_unsent"] == str(unsent)
    assert details["notice_seconds"] == details["notice_played_seconds"] == "1.00"
    assert details["notice_unsent_seconds"] == f"{unsent * 0.02:.2f}"
    media.finish()
    path = media.recorder.close(8000) if media.recorder else None
    peer.close()
    assert path is not None
    with wave.open(str(path)) as wav:
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert np.count_nonzero(frames[:, 1]) > 0.9 * len(tone)  # what was meant to be heard


async def test_a_burst_the_network_held_back_lands_where_each_packet_belongs(
    tmp_path: Path,
) -> None:
    """Packets 30-104 held back 1.5 s and let through together, when packet 105 is due:
    their places are on disk by then; each is written into the file at its own place,
    and none lands on another. Each packet's payload is one µ-law code of its own, so
    every one can be found in the recording."""
    media = MediaSession(None, call_id="burst")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    recorder = CallRecorder(tmp_path / "burst.wav")
    media.start(t0, recorder)

    def payload(k: int) -> bytes:
        return bytes([k % 120 + 1]) * 160

    for tick in range(150):
        arriving = list(range(30, 106)) if tick == 105 else [] if 30 <= tick < 105 else [tick]
        for k in arriving:
            packet = RtpPacket(0, k, 5000 + 160 * k, 42, payload(k))
            media.datagram_received(bytes(packet), ("127.0.0.1", 9), arrival=t0 + 0.02 * tick)
        media.housekeeping(t0 + 0.02 * tick + 0.019)
    media.finish()
    path = recorder.close(150 * 160)
    with wave.open(str(path)) as wav:
        caller = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)[:, 0]
    for k in range(150):
        expected = reference.decode(payload(k), "PCMU")
        assert np.array_equal(caller[160 * k : 160 * (k + 1)], expected), k
    details = media.details()
    assert details["rtp_reanchors"] == "0" and details["samples_discarded"] == "0"
    assert int(details["samples_late"]) > 0 and details["packets_lost"] == "0"
