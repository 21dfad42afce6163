"""Garbage, load and registration: the line answers bad input with the right status or
ignores it, keeps working, records 20 concurrent calls, and registers with digest auth."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from hotline.calls import (
    CallEnded,
    CallStarted,
    Incident,
    IncidentKind,
    RecordingFinished,
    RecordingStarted,
)
from hotline.errors import SIPError
from hotline.sip import SIPConfig, SIPLine, default_notice
from tests.integration.sip.conftest import (
    KEYWORDS,
    Facts,
    LineFactory,
    Speech,
    find_exact,
    read_recording,
)
from tests.support.sip_pcap import speech_pcap
from tests.support.sip_peers import (
    call_scenario,
    free_port,
    garbage_scenario,
    refused_scenario,
    registrar_scenario,
    run_sipp,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

JUNK = [
    b"",
    b"\r\n\r\n",
    b"\x00" * 64,
    os.urandom(1500),
    b"INVITE\r\n\r\n",
    b"SIP/2.0 200\r\n\r\n",
    b"INVITE sip:x@y SIP/2.0\r\nVia: nonsense\r\n\r\n",
    b"INVITE sip:x@y SIP/2.0\r\nContent-Length: 99999\r\n\r\nv=0",
    b"BYE sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
    b"Call-ID: \xff\xfe\r\n\r\n",
    "OPTIONS sip:测试@127.0.0.1 SIP/2.0\r\n".encode() * 200,
]


async def test_garbage_is_answered_or_ignored_and_the_line_keeps_working(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech
) -> None:
    line = await start_line()
    run = await run_sipp(tmp_path, garbage_scenario(), line.target)
    assert run.returncode == 0, run.output[-3000:]

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for junk in JUNK:
            udp.sendto(junk, ("127.0.0.1", line.port))
    for junk in JUNK:
        _, writer = await asyncio.open_connection("127.0.0.1", line.port)
        writer.write(junk + b"\r\n\r\n")
        await writer.drain()
        writer.close()
    # RTP port garbage: a call's media port gets junk while a real call runs.
    pcap = speech_pcap(test_speech.short, tmp_path / "report.pcap", "PCMU")
    talk_ms = int(test_speech.seconds(test_speech.short) * 1000) + 500
    call = asyncio.create_task(
        run_sipp(tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target)
    )
    await line.facts.wait_for(RecordingStarted)
    await asyncio.sleep(0.5)
    media_ports = [c.media.local_port for c in line.line._calls.values() if c.media]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for junk in JUNK[:6]:
            udp.sendto(junk, ("127.0.0.1", media_ports[0]))
    run = await call
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.wait_for(RecordingFinished)
    finished = line.facts.of(RecordingFinished)[0]
    caller, _ = read_recording(finished.path)
    assert find_exact(caller, test_speech.short, "PCMU") >= 0
    assert int(finished.details["packets_invalid"]) >= 3
    assert line.line.status.rejected_messages >= 5
    assert line.line.status.running


async def test_twenty_concurrent_calls_all_recorded(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech, transcribe
) -> None:
    line = await start_line()
    pcap = speech_pcap(test_speech.report, tmp_path / "report.pcap", "PCMU")
    talk_ms = int(test_speech.seconds(test_speech.report) * 1000) + 800
    run = await run_sipp(
        tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target, calls=20, rate=40, limit=20
    )
    assert run.returncode == 0, run.output[-3000:]
    await line.facts.ended(20)
    finished = line.facts.of(RecordingFinished)
    assert len(finished) == 20 and len({f.call_id for f in finished}) == 20
    assert all(f.details["packets_lost"] == "0" for f in finished), [f.details for f in finished]
    for fact in finished:
        caller, _ = read_recording(fact.path)
        assert abs(len(caller) / 8000 - fact.expected_duration) < 0.1
        assert find_exact(caller, test_speech.report, "PCMU") >= 0, (fact.path, fact.details)
    for fact in finished[:20:4]:  # the speech model on a sample of them (bit-exact on all)
        said = transcribe(read_recording(fact.path)[0])
        assert all(word in said for word in KEYWORDS), said


@pytest.mark.parametrize("when", ["at answer", "mid-call"])
async def test_a_stalled_event_loop_does_not_move_the_callers_audio(
    tmp_path: Path, start_line: LineFactory, test_speech: Speech, when: str
) -> None:
    """Packets that queue while the loop is blocked are placed by when they reached the
    host: before, a 0.3 s stall at answer (a slow store taking the fact) made the first
    packet anchor the call late, and the caller's audio was written over itself."""
    facts = Facts(stall={RecordingStarted: 0.5} if when == "at answer" else {})
    line = await start_line(facts=facts)
    pcap = speech_pcap(test_speech.report, tmp_path / "report.pcap", "PCMU")
    talk_ms = int(test_speech.seconds(test_speech.report) * 1000) + 800
    call = asyncio.create_task(
        run_sipp(tmp_path, call_scenario(pcap, "PCMU", talk_ms), line.target)
    )
    await facts.wait_for(RecordingStarted)
    if when == "mid-call":  # longer than the timeline's tolerance for a late packet (1 s)
        asyncio.get_running_loop().call_later(1.5, time.sleep, 1.5)
    run = await call
    assert run.returncode == 0, run.output[-3000:]
    await facts.ended()
    (finished,) = facts.of(RecordingFinished)
    details = finished.details
    assert (details["packets_lost"], details["rtp_reanchors"]) == ("0", "0"), details
    caller, _ = read_recording(finished.path)
    assert find_exact(caller, test_speech.report, "PCMU") >= 0, details


async def test_registration_with_digest_and_refresh(
    tmp_path: Path, start_line: LineFactory
) -> None:
    port = free_port()
    registrar = asyncio.create_task(
        run_sipp(
            tmp_path,
            registrar_scenario("agent7", "s3cret", 2, 3),
            "",
            server=True,
            port=port,
            sipp_timeout=20,
        )
    )
    await asyncio.sleep(0.3)
    # A name, resolved once when the line starts; the address-of-record keeps it.
    line = await start_line(
        registrar=f"localhost:{port}", user="agent7", password="s3cret", expiry=2
    )
    run = await registrar  # three REGISTERs, each challenged: the first and two refreshes
    assert run.returncode == 0, run.output[-3000:]
    status = line.line.status.registration
    assert status is not None and status.state == "registered", status
    assert len(run.times(r"REGISTER ")) == 6
    assert "Authorization: Digest" in run.trace and "sip:agent7@localhost" in run.trace


async def test_registration_failure_is_visible(tmp_path: Path, start_line: LineFactory) -> None:
    port = free_port()
    registrar = asyncio.create_task(
        run_sipp(
            tmp_path,
            registrar_scenario("agent7", "s3cret", 60, 1),
            "",
            server=True,
            port=port,
            sipp_timeout=10,
        )
    )
    await asyncio.sleep(0.3)
    line = await start_line(registrar=f"127.0.0.1:{port}", user="agent7", password="wrong")
    await line.facts.wait_for(Incident)
    status = line.line.status.registration
    assert status is not None and status.state == "failed" and "403" in status.last_error
    incident = line.facts.of(Incident)[0]
    assert incident.kind is IncidentKind.SOURCE_DOWN and "403" in incident.detail
    await registrar
    assert not line.facts.of(CallEnded)


async def test_stop_while_ringing_refuses_the_call(tmp_path: Path, start_line: LineFactory) -> None:
    line = await start_line(ring_seconds=30)
    sipp = asyncio.create_task(run_sipp(tmp_path, refused_scenario(480), line.target))
    await line.facts.wait_for(CallStarted)
    await asyncio.sleep(0.3)
    await asyncio.wait_for(line.line.stop(), 10)
    run = await sipp
    assert run.returncode == 0, run.output[-3000:]
    assert [type(f) for f in line.facts.items] == [CallStarted, CallEnded]
    ended = line.facts.of(CallEnded)[0]
    assert not ended.answered and ended.cause == "service stopping"


async def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]

        async def sink(fact: object) -> None:
            pass

        line = SIPLine(
            SIPConfig(recordings_dir=tmp_path, port=port, notice_path=default_notice("en")), sink
        )
        with pytest.raises(SIPError, match=f"HOTLINE_SIP: cannot listen on 127.0.0.1:{port}"):
            await line.start()
        await line.stop()


def _invite(
    port: int, call_id: str, sdp_port: str, *, cseq: str = "1", uri: str = "sip:12340@127.0.0.1"
) -> bytes:
    body = (
        "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {sdp_port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
    ).encode()
    head = (
        f"INVITE {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{os.urandom(6).hex()}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:13800138000@127.0.0.1:{port}>;tag=a1\r\n"
        "To: <sip:12340@127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} INVITE\r\n"
        f"Contact: <sip:13800138000@127.0.0.1:{port}>\r\n"
        "Content-Type: application/sdp\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def test_digits_of_other_scripts_are_bad_input_not_a_crash(
    tmp_path: Path, start_line: LineFactory
) -> None:
    """``²`` passes ``str.isdigit`` but not ``int``: in an SDP port it left the call
    ringing for ever and its Call-ID refused; in CSeq it raised out of the transport."""
    line = await start_line()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(3)
        port = udp.getsockname()[1]
        for call_id, message in [
            ("sdp-sup", _invite(port, "sdp-sup", "\u00b2")),
            ("cseq-sup", _invite(port, "cseq-sup", "40000", cseq="\u00b2")),
            # A Request-URI with port 0, then the same Call-ID again: refused as bad
            # input both times, never "Loop Detected" (a dialog left behind).
            ("uri", _invite(port, "bad-uri", "40000", uri="sip:12340@127.0.0.1:0")),
            ("uri-again", _invite(port, "bad-uri", "\u00b2")),
        ]:
            udp.sendto(message, ("127.0.0.1", line.port))
            finals = []
            deadline = time.monotonic() + 3
            while not finals and time.monotonic() < deadline:
                reply = (await asyncio.to_thread(udp.recv, 65535)).decode(errors="replace")
                status = reply.split(" ", 2)[1]
                if not status.startswith("1"):
                    finals.append(status)
            assert finals and finals[0] in ("400", "488"), (call_id, finals)
    await asyncio.sleep(0.2)
    assert not line.line._calls
    assert line.line.status.running


async def test_idle_tcp_connections_cannot_use_up_the_line(
    tmp_path: Path, start_line: LineFactory
) -> None:
    """A connection that sends no message is closed after a while; past the limit, a
    new one is closed as it opens; one that talks SIP stays, and is answered."""
    line = await start_line()
    tcp = line.line._net._tcp
    tcp.first_message_seconds, tcp.max_connections = 0.5, 3
    idle = [await asyncio.open_connection("127.0.0.1", line.port) for _ in range(3)]
    await asyncio.sleep(0.1)
    extra_reader, extra_writer = await asyncio.open_connection("127.0.0.1", line.port)
    assert await asyncio.wait_for(extra_reader.read(), 2) == b""  # closed at once
    assert tcp.refused == 1
    for reader, _writer in idle:  # closed once the half second passed without a message
        assert await asyncio.wait_for(reader.read(), 3) == b""
    reader, writer = await asyncio.open_connection("127.0.0.1", line.port)
    options = (
        "OPTIONS sip:12340@127.0.0.1 SIP/2.0\r\n"
        "Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcpidle\r\n"
        "From: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:12340@127.0.0.1>\r\n"
        "Call-ID: tcp-idle@probe\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    writer.write(options.encode())
    await writer.drain()
    assert (await asyncio.wait_for(reader.readline(), 3)).startswith(b"SIP/2.0 200")
    await asyncio.sleep(1.0)
    assert not reader.at_eof() and len(tcp.connections) == 1  # it talked: it stays
    for _reader, w in [*idle, (extra_reader, extra_writer), (reader, writer)]:
        w.close()
