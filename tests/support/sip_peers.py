"""Real SIP peers for the tests: sipp scenarios written on the spot, and baresip run
headless from a config directory made in the test. Nothing here talks to our code
except over SIP and RTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tests.support.speech import require

CALLER = "13800138000"
HOTLINE = "12340"


def free_port(*, pair: bool = False) -> int:
    """An even port free for both UDP and TCP (and the one two above it for UDP too when
    ``pair``: sipp's media port and its video port). Free now, not reserved: callers
    that can hit a race retry."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
            if port % 2 or port > 60000:
                continue
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                    tcp.bind(("127.0.0.1", port))
                if pair:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                        other.bind(("127.0.0.1", port + 2))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def _sdp(codec: str, direction: str = "sendrecv") -> str:
    pt = {"PCMU": 0, "PCMA": 8, "G729": 18}[codec]
    return (
        "v=0\n"
        "o=caller 53655765 [cseq] IN IP[local_ip_type] [local_ip]\n"
        "s=-\n"
        "c=IN IP[media_ip_type] [media_ip]\n"
        "t=0 0\n"
        f"m=audio [media_port] RTP/AVP {pt} 101\n"
        f"a=rtpmap:{pt} {codec}/8000\n"
        "a=rtpmap:101 telephone-event/8000\n"
        "a=fmtp:101 0-15\n"
        f"a={direction}\n"
    )


def _request(
    method: str,
    cseq: int,
    *,
    body: str = "",
    in_dialog: bool = True,
    branch: str = "[branch]",
    extra: str = "",
) -> str:
    to_tag = "[peer_tag_param]" if in_dialog else ""
    uri = f"sip:{HOTLINE}@[remote_ip]:[remote_port]"
    content = "Content-Type: application/sdp\n" if body else ""
    return (
        f"{method} {uri} SIP/2.0\n"
        f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}\n"
        f'From: "Reporter" <sip:{CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]\n'
        f"To: <{uri}>{to_tag}\n"
        "Call-ID: [call_id]\n"
        f"CSeq: {cseq} {method}\n"
        f"Contact: <sip:{CALLER}@[local_ip]:[local_port];transport=[transport]>\n"
        "Max-Forwards: 70\n"
        f"{extra}{content}"
        "Content-Length: [len]\n\n"
        f"{body}"
    )


def _send(message: str, retrans: bool = True) -> str:
    attr = ' retrans="500"' if retrans else ""
    return f"<send{attr}><![CDATA[\n{message}\n]]></send>\n"


def _invite_ok(cseq: int, codec: str, direction: str = "sendrecv", *, first: bool = False) -> str:
    steps = _send(_request("INVITE", cseq, body=_sdp(codec, direction), in_dialog=not first))
    steps += '<recv response="100" optional="true"/>\n'
    if first:
        steps += '<recv response="180" optional="true"/>\n'
    steps += '<recv response="200" rtd="true"/>\n'
    steps += _send(_request("ACK", cseq), retrans=False)
    return steps


def _play(pcap: Path) -> str:
    return f'<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'


def _bye(cseq: int) -> str:
    return _send(_request("BYE", cseq)) + '<recv response="200" crlf="true"/>\n'


def scenario(body: str, name: str = "hotline test") -> str:
    head = '<?xml version="1.0" encoding="ISO-8859-1" ?>'
    return f'{head}\n<scenario name="{name}">\n{body}</scenario>\n'


def call_scenario(pcap: Path, codec: str, talk_ms: int) -> str:
    """Call, play ``pcap`` while talking ``talk_ms``, hang up."""
    return scenario(
        _invite_ok(1, codec, first=True)
        + _play(pcap)
        + f'<pause milliseconds="{talk_ms}"/>\n'
        + _bye(2)
    )


def stream_scenario(raw: Path, codec: str, talk_ms: int) -> str:
    """Like ``call_scenario``, sending raw G.711 with sipp's ``rtp_stream``: its RTP
    tasks share a few threads (``-rtp_threadtasks``), so it can drive hundreds of calls."""
    pt = {"PCMU": 0, "PCMA": 8}[codec]
    stream = f'<nop><action><exec rtp_stream="{raw},1,{pt}"/></action></nop>\n'
    return scenario(
        _invite_ok(1, codec, first=True) + stream + f'<pause milliseconds="{talk_ms}"/>\n' + _bye(2)
    )


def hold_scenario(
    pcap1: Path, pcap2: Path, codec: str, talk_ms: tuple[int, int], hold_ms: int
) -> str:
    """Talk, put the hotline on hold (re-INVITE sendonly), resume (sendrecv), talk, hang up."""
    return scenario(
        _invite_ok(1, codec, first=True)
        + _play(pcap1)
        + f'<pause milliseconds="{talk_ms[0]}"/>\n'
        + _invite_ok(2, codec, "sendonly")
        + f'<pause milliseconds="{hold_ms}"/>\n'
        + _invite_ok(3, codec, "sendrecv")
        + _play(pcap2)
        + f'<pause milliseconds="{talk_ms[1]}"/>\n'
        + _bye(4)
    )


def cancel_scenario(ring_ms: int) -> str:
    """Call and cancel while it rings (RFC 3261 §9: CANCEL, then ACK the 487)."""
    invite = _request("INVITE", 1, body=_sdp("PCMU"), in_dialog=False)
    cancel = _request("CANCEL", 1, in_dialog=False, branch="[branch-4]")
    ack = _request("ACK", 1, in_dialog=True, branch="[branch-6]")
    return scenario(
        _send(invite)
        + '<recv response="100" optional="true"/>\n<recv response="180"/>\n'
        + f'<pause milliseconds="{ring_ms}"/>\n'
        + _send(cancel)
        + '<recv response="200"/>\n<recv response="487"/>\n'
        + _send(ack, retrans=False)
    )


def garbage_scenario() -> str:
    """Malformed or unacceptable requests, each answered with the right 4xx/5xx."""
    cases = [
        (_request("INVITE", 1, body=_sdp("G729"), in_dialog=False), "488", True),
        (
            _request(
                "INVITE", 2, body=_sdp("PCMU"), in_dialog=False, extra="Require: 100rel, foo\n"
            ),
            "420",
            True,
        ),
        (
            _request("INVITE", 3, body="hello", in_dialog=False).replace(
                "Max-Forwards: 70\n", "Content-Type: text/plain\n"
            ),
            "415",
            True,
        ),
        (
            _request("OPTIONS", 4, in_dialog=False).replace("Max-Forwards: 70", "Max-Forwards: 0"),
            "200",
            False,
        ),
        (
            _request("INFO", 5, in_dialog=False).replace("Max-Forwards: 70", "Max-Forwards: 0"),
            "483",
            False,
        ),
        (_request("BYE", 6, in_dialog=False), "481", False),
        (_request("FROB", 7, in_dialog=False), "501", False),
        (_request("SUBSCRIBE", 8, in_dialog=False), "405", False),
        (
            _request("INFO", 9, in_dialog=False).replace(
                "@[local_ip]:[local_port]>;tag", "@[local_ip]:[local_port];tag"
            ),
            "400",
            False,
        ),
        (_request("INFO", 10, in_dialog=False).replace("SIP/2.0\n", "SIP/3.0\n", 1), "505", False),
        (
            _request("INVITE", 11, body=_sdp("PCMU"), in_dialog=False).replace(
                "m=audio [media_port]", "m=audio port"
            ),
            "400",
            True,
        ),
    ]
    steps = ""
    for index, (message, status, invite) in enumerate(cases):
        if invite:
            message = message.replace(
                "tag=[pid]SIPpTag[call_number]", f"tag=[pid]SIPpTag[call_number]x{index}"
            )
        steps += _send(message)
        if invite:
            steps += '<recv response="100" optional="true"/>\n'
        steps += f'<recv response="{status}"/>\n'
        if invite:  # the ACK of a non-2xx has the INVITE's branch: three elements back
            ack = _request(
                "ACK",
                int(message.split("CSeq: ")[1].split()[0]),
                in_dialog=True,
                branch="[branch-3]",
            )
            ack = ack.replace(
                "tag=[pid]SIPpTag[call_number]", f"tag=[pid]SIPpTag[call_number]x{index}"
            )
            steps += _send(ack, retrans=False)
    return scenario(steps, "garbage")


def registrar_scenario(user: str, password: str, expires: int, registrations: int) -> str:
    """A registrar (sipp UAS) that challenges each REGISTER, checks the digest, and
    grants ``expires`` seconds, or answers 403 to a wrong password and stops."""
    reply = (
        "SIP/2.0 {status}\n[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]reg\n[last_Call-ID:]\n"
        "[last_CSeq:]\n{extra}Content-Length: 0\n"
    )
    challenge = (
        'WWW-Authenticate: Digest realm="hotline.test", nonce="[pid]n[call_number]x[clock_tick]", '
        'algorithm=MD5, qop="auth"\n'
    )
    steps = ""
    for index in range(registrations):
        steps += '<recv request="REGISTER"/>\n'
        steps += _send(reply.format(status="401 Unauthorized", extra=challenge), retrans=False)
        steps += (
            '<recv request="REGISTER"><action>'
            f'<verifyauth assign_to="auth_ok" username="{user}" password="{password}"/>'
            "</action></recv>\n"
            f'<nop test="auth_ok" next="good{index}"/>\n'
        )
        steps += _send(reply.format(status="403 Forbidden", extra=""), retrans=False)
        steps += '<nop next="end"/>\n'
        steps += f'<label id="good{index}"/>\n'
        steps += _send(
            reply.format(status="200 OK", extra=f"[last_Contact:];expires={expires}\n"),
            retrans=False,
        )
    return scenario(steps + '<label id="end"/>\n', "registrar")


@dataclass
class SippRun:
    returncode: int
    output: str
    trace: str
    """The ``-trace_msg`` log: every message sent and received, with times."""
    clock_step: float = 0.0
    """How far the wall clock (sipp's times) moved against the monotonic clock while
    sipp ran: a host that steps its clock (NTP, a VM resumed) shifts sipp's stamps by
    up to this much, so a span read from them is only this good."""

    def times(self, pattern: str) -> list[datetime]:
        """When each traced message whose first line matches ``pattern`` was sent or received."""
        stamps = []
        for block in self.trace.split("----------------------------------------------- ")[1:]:
            head, _, rest = block.partition("\n")
            message = rest.split("\n\n", 1)[1] if "\n\n" in rest else rest
            if re.match(pattern, message.lstrip()):
                stamps.append(
                    datetime.strptime(head.strip().replace("\t", " "), "%Y-%m-%d %H:%M:%S.%f")
                )
        return stamps

    def span(self, first: str, last: str) -> float:
        """Seconds from the first message matching ``first`` to the first matching ``last``."""
        return (self.times(last)[0] - self.times(first)[0]).total_seconds()


def _wall_offset() -> float:
    return time.time() - time.monotonic()


async def run_sipp(
    workdir: Path,
    xml: str,
    target: str,
    *,
    transport: str = "u1",
    calls: int = 1,
    rate: float = 10,
    limit: int | None = None,
    sipp_timeout: float = 60,
    extra: tuple[str, ...] = (),
    server: bool = False,
    port: int | None = None,
    nice: int = 0,
) -> SippRun:
    """Run one sipp scenario to completion (``server``: as a UAS on ``port``). ``xml`` is
    the scenario, or ``builtin:NAME`` for one of sipp's own (``-sn NAME``)."""
    scenario_file = workdir / f"scenario-{free_port()}.xml"
    scenario_file.write_text(xml)
    media_port = free_port(pair=True)
    args = [
        require("sipp"),
        *(
            ["-sn", xml[len("builtin:") :]]
            if xml.startswith("builtin:")
            else ["-sf", str(scenario_file)]
        ),
        "-i",
        "127.0.0.1",
        "-mi",
        "127.0.0.1",
        "-mp",
        str(media_port),
        "-t",
        transport,
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-l",
        str(limit or calls),
        "-nostdin",
        "-timeout",
        f"{int(sipp_timeout)}s",
        "-timeout_error",
        "-trace_msg",
        "-message_file",
        str(scenario_file.with_suffix(".msg")),
        "-max_recv_loops",
        "1000",
        "-recv_timeout",
        "20000",
        *extra,
    ]
    # Our own port, never sipp's default 5060 (a running `hotline serve` may hold it).
    args += ["-p", str(port or free_port())]
    if not server:
        args.append(target)
    if nice:  # a load generator yields the CPU to what it measures
        args = ["nice", "-n", str(nice), *args]
    offset = _wall_offset()
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), sipp_timeout + 10)
    except TimeoutError:
        proc.kill()
        out, _ = await proc.communicate()
    trace_file = scenario_file.with_suffix(".msg")
    trace = trace_file.read_text(errors="replace") if trace_file.exists() else ""
    step = abs(_wall_offset() - offset)
    return SippRun(proc.returncode or 0, out.decode(errors="replace"), trace, step)


def callee_hangs_up_scenario(pcap: Path | None, codec: str) -> str:
    """Call, maybe play ``pcap``, and wait for the hotline to hang up (BYE)."""
    play = _play(pcap) if pcap is not None else ""
    ok = (
        "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
        f"Contact: <sip:{CALLER}@[local_ip]:[local_port];transport=[transport]>\n"
        "Content-Length: 0\n"
    )
    return scenario(
        _invite_ok(1, codec, first=True)
        + play
        + '<recv request="BYE" timeout="60000"/>\n'
        + _send(ok, retrans=False)
    )


def offerless_scenario(pcap: Path, talk_ms: int) -> str:
    """An INVITE without SDP: the hotline offers in its 200, we answer in the ACK."""
    invite = _request("INVITE", 1, in_dialog=False)
    ack = _request("ACK", 1, body=_sdp("PCMA"))
    return scenario(
        _send(invite)
        + '<recv response="100" optional="true"/>\n<recv response="180" optional="true"/>\n'
        + '<recv response="200"/>\n'
        + _send(ack, retrans=False)
        + _play(pcap)
        + f'<pause milliseconds="{talk_ms}"/>\n'
        + _bye(2)
    )


BARESIP_CONFIG = """\
poll_method\tepoll
sip_listen\t127.0.0.1:{port}
audio_player\taubridge,nil
audio_source\taufile,{wav}
audio_alert\taubridge,nil
audio_srate\t8000
audio_channels\t1
module_path\t/usr/lib/baresip/modules
module\tg711.so
module\taufile.so
module\taubridge.so
module\tmenu.so
module_app\taccount.so
module_app\tcontact.so
"""
HEARING = """\
module\tsndfile.so
snd_path\t{path}
"""
"""Added to the config: baresip writes what it hears (``dump-*-dec.wav``) to ``path``."""


def _hearing(hear: Path | None) -> str:
    if hear is None:
        return ""
    hear.mkdir(exist_ok=True)
    return HEARING.format(path=hear)


def _baresip_home(home: Path, accounts: str, config: str) -> Path:
    home.mkdir(exist_ok=True)
    (home / "accounts").write_text(accounts)
    (home / "contacts").write_text("")
    (home / "config").write_text(config)
    return home


def heard(directory: Path) -> Path:
    """The audio a baresip run with ``hear=directory`` received (decoded, 8 kHz mono)."""
    (path,) = directory.glob("dump-*-dec.wav")
    return path


async def start_baresip_operator(
    workdir: Path, wav: Path, port: int, *, codec: str, seconds: int, hear: Path
) -> asyncio.subprocess.Process:
    """baresip as an operator's phone on ``port``: it answers any call at once, says
    ``wav``, keeps what it hears in ``hear``, and quits after ``seconds``."""
    home = _baresip_home(
        workdir / "baresip-operator",
        f"<sip:desk@127.0.0.1>;regint=0;answermode=auto;audio_codecs={codec}\n",
        BARESIP_CONFIG.format(port=port, wav=wav) + _hearing(hear),
    )
    return await asyncio.create_subprocess_exec(
        require("baresip"),
        "-f",
        str(home),
        "-t",
        str(seconds),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def run_baresip(
    workdir: Path,
    wav: Path,
    uri: str,
    *,
    codec: str = "PCMU",
    seconds: int = 9,
    hear: Path | None = None,
) -> str:
    """baresip, headless: call ``uri``, send ``wav`` (8 kHz mono) from its aufile source,
    and hang up when the file ends. Its audio player is a bridge to nowhere (no sound
    card); with ``hear``, what it receives is also written there (``heard``)."""
    home = workdir / "baresip"
    home.mkdir(exist_ok=True)
    (home / "accounts").write_text(f"<sip:{CALLER}@127.0.0.1>;regint=0;audio_codecs={codec}\n")
    (home / "contacts").write_text("")
    for _attempt in range(3):
        # baresip listens on UDP and TCP: another program may take the TCP port first.
        config = BARESIP_CONFIG.format(port=free_port(), wav=wav) + _hearing(hear)
        (home / "config").write_text(config)
        proc = await asyncio.create_subprocess_exec(
            require("baresip"),
            "-f",
            str(home),
            "-e",
            f"/dial {uri}",
            "-t",
            str(seconds),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), seconds + 10)
        except TimeoutError:  # it waits for unanswered transactions before it quits
            proc.kill()
            out, _ = await proc.communicate()
        output = out.decode(errors="replace")
        if "Address already in use" not in output:
            break
    return output


def refused_scenario(status: int) -> str:
    """Call, hear it ring, and get ``status`` instead of an answer (then ACK it)."""
    invite = _request("INVITE", 1, body=_sdp("PCMU"), in_dialog=False)
    ack = _request("ACK", 1, in_dialog=True, branch="[branch-4]")
    return scenario(
        _send(invite)
        + '<recv response="100" optional="true"/>\n<recv response="180"/>\n'
        + f'<recv response="{status}" timeout="20000"/>\n'
        + _send(ack, retrans=False)
    )


_UAS_REPLY = (
    "SIP/2.0 {status}\n[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]op[call_number]\n"
    "[last_Call-ID:]\n[last_CSeq:]\n"
    "Contact: <sip:desk@[local_ip]:[local_port];transport=[transport]>\n{extra}"
)


def operator_ringing_scenario() -> str:
    """An operator's phone that rings until the caller gives up (CANCEL → 487)."""
    ok = "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
    return scenario(
        '<recv request="INVITE" crlf="true"/>\n'
        + _send(_UAS_REPLY.format(status="180 Ringing", extra="Content-Length: 0\n"), False)
        + '<recv request="CANCEL" timeout="60000"/>\n'
        + _send(ok + "Content-Length: 0\n", False)
        # The 487 answers the INVITE (CSeq 1: the line's first request in its dialog).
        + _send(
            _UAS_REPLY.replace("[last_CSeq:]", "CSeq: 1 INVITE").format(
                status="487 Request Terminated", extra="Content-Length: 0\n"
            )
        )
        + '<recv request="ACK"/>\n',
        "operator rings",
    )


def operator_busy_scenario() -> str:
    """An operator's phone that is busy (486)."""
    return scenario(
        '<recv request="INVITE" crlf="true"/>\n'
        + _send(_UAS_REPLY.format(status="486 Busy Here", extra="Content-Length: 0\n"))
        + '<recv request="ACK"/>\n',
        "operator busy",
    )


def operator_hangs_up_scenario(pcap: Path, codec: str, talk_ms: int) -> str:
    """An operator's phone that answers, says ``pcap`` (for ``talk_ms``), and hangs up."""
    sdp = _sdp(codec)
    answer = _UAS_REPLY.format(
        status="200 OK", extra="Content-Type: application/sdp\nContent-Length: [len]\n\n" + sdp
    )
    bye = (
        "BYE sip:hotline@[remote_ip]:[remote_port] SIP/2.0\n"
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n"
        "From: [$ours]\nTo: [$theirs]\n[last_Call-ID:]\nCSeq: 1 BYE\n"
        "Max-Forwards: 70\nContent-Length: 0\n"
    )
    return scenario(
        '<recv request="INVITE" crlf="true"/>\n'
        + _send(answer)
        # Our side of the dialog is the ACK's To, the line's its From (tags and all).
        + '<recv request="ACK"><action>'
        '<ereg regexp="[^ ].*" search_in="hdr" header="To:" assign_to="ours"/>'
        '<ereg regexp="[^ ].*" search_in="hdr" header="From:" assign_to="theirs"/>'
        "</action></recv>\n"
        + _play(pcap)
        + f'<pause milliseconds="{talk_ms}"/>\n'
        + _send(bye)
        + '<recv response="200"/>\n',
        "operator hangs up",
    )


def session_timer_scenario(codec: str, expires: int, hold_ms: int) -> str:
    """Call with a session timer (RFC 4028) of ``expires`` s, put the hotline on hold
    (a re-INVITE that refreshes it), then never refresh again: wait for its BYE."""
    timer = f"Session-Expires: {expires}\n"
    invite = _request("INVITE", 1, body=_sdp(codec), in_dialog=False, extra=timer)
    hold = _request("INVITE", 2, body=_sdp(codec, "sendonly"), extra=timer)
    ok = (
        "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
        f"Contact: <sip:{CALLER}@[local_ip]:[local_port];transport=[transport]>\n"
        "Content-Length: 0\n"
    )
    return scenario(
        _send(invite)
        + '<recv response="100" optional="true"/>\n<recv response="180" optional="true"/>\n'
        + '<recv response="200" rtd="true"/>\n'
        + _send(_request("ACK", 1), retrans=False)
        + f'<pause milliseconds="{hold_ms}"/>\n'
        + _send(hold)
        + '<recv response="100" optional="true"/>\n<recv response="200"/>\n'
        + _send(_request("ACK", 2), retrans=False)
        + '<recv request="BYE" timeout="20000"/>\n'
        + _send(ok, retrans=False)
    )
