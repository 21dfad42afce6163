"""The user agent core with a clock in the test's hand: bytes in, events and bytes out."""

from __future__ import annotations

from pathlib import Path

from hotline.sip import events as ev
from hotline.sip.address import URI
from hotline.sip.agent import AgentConfig, UserAgent
from hotline.sip.message import Request, Response, parse_message
from hotline.sip.register import RegistrationConfig

CAPTURED = Path(__file__).parent / "captured"
PEER = ev.Peer("udp", "127.0.0.1", 34662)
INVITE = (CAPTURED / "sipp-3.6.1-invite.sip").read_bytes()


def agent() -> UserAgent:
    return UserAgent(AgentConfig(user_agent="test"), lambda peer: ("127.0.0.1", 5060))


def drain(ua: UserAgent) -> tuple[list[ev.Event], list[Request | Response]]:
    events = []
    while (event := ua.next_event()) is not None:
        events.append(event)
    return events, [parse_message(data) for data, _ in ua.datagrams_to_send()]


def statuses(sent: list[Request | Response]) -> list[int]:
    return [m.status for m in sent if isinstance(m, Response)]


def request(method: str, reply: Response, *, cseq: int = 1, branch: str = "z9hG4bK-new") -> bytes:
    """An in-dialog request as the caller of the captured INVITE would send it."""
    return (
        f"{method} sip:12340@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:34662;branch={branch}\r\n"
        f"From: {reply.headers.get('From')}\r\nTo: {reply.headers.get('To')}\r\n"
        f"Call-ID: {reply.call_id}\r\n"
        f"CSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def answered(ua: UserAgent) -> tuple[str, Response]:
    ua.receive(INVITE, PEER, 0.0)
    events, sent = drain(ua)
    call = events[0]
    assert isinstance(call, ev.IncomingCall) and statuses(sent) == [100]
    ua.ring(call.call_id, 0.1)
    ua.answer(call.call_id, b"v=0\r\n", 1.0)
    _, sent = drain(ua)
    assert statuses(sent) == [180, 200]
    ok = sent[1]
    assert isinstance(ok, Response) and ok.to.tag and ok.headers.get("Contact")
    return call.call_id, ok


def test_answer_resends_200_until_ack() -> None:
    ua = agent()
    call_id, ok = answered(ua)
    for now in (1.5, 2.5, 4.5):  # T1, 2·T1, 4·T1
        assert ua.get_timer() == now
        ua.handle_timer(now)
        assert statuses(drain(ua)[1]) == [200]
    ua.receive(INVITE, PEER, 4.6)  # a late copy of the INVITE gets the 200 again
    assert statuses(drain(ua)[1]) == [200]
    ua.receive(request("ACK", ok), PEER, 5.0)
    events, sent = drain(ua)
    assert events == [ev.CallConfirmed(call_id, b"")] and not sent
    ua.receive(request("BYE", ok, cseq=2), PEER, 9.0)
    events, sent = drain(ua)
    assert events == [ev.CallEnded(call_id, "bye")] and statuses(sent) == [200]
    ua.receive(request("BYE", ok, cseq=2), PEER, 9.1)  # retransmitted BYE: same answer
    assert statuses(drain(ua)[1]) == [200]


def test_no_ack_ends_the_call_with_bye() -> None:
    ua = agent()
    call_id, _ = answered(ua)
    while (deadline := ua.get_timer()) is not None and deadline <= 33.0:
        ua.handle_timer(deadline)
    events, sent = drain(ua)
    assert any(isinstance(m, Request) and m.method == "BYE" for m in sent)
    assert ev.CallEnded(call_id, "no-ack") not in events  # it follows the BYE's answer
    bye = next(m for m in sent if isinstance(m, Request) and m.method == "BYE")
    ua.receive(
        bytes(Response(headers=bye.headers.copy(), body=b"", status=200, reason="OK")), PEER, 34.0
    )
    assert drain(ua)[0] == [ev.CallEnded(call_id, "no-ack")]


def test_cancel_while_ringing() -> None:
    ua = agent()
    ua.receive(INVITE, PEER, 0.0)
    call = drain(ua)[0][0]
    assert isinstance(call, ev.IncomingCall)
    cancel = (
        INVITE.split(b"\r\n\r\n")[0]
        .replace(b"INVITE sip", b"CANCEL sip")
        .replace(b"1 INVITE", b"1 CANCEL")
    )
    cancel = (
        cancel.replace(b"Content-Type: application/sdp\r\n", b"").split(b"Content-Length")[0]
        + b"Content-Length: 0\r\n\r\n"
    )
    ua.receive(cancel, PEER, 0.5)
    events, sent = drain(ua)
    assert events == [ev.CallEnded(call.call_id, "cancel")] and statuses(sent) == [200, 487]
    ua.handle_timer(1.0)  # Timer G: the 487 again until the ACK
    assert statuses(drain(ua)[1]) == [487]


def test_reinvite_hold_is_an_offer() -> None:
    ua = agent()
    call_id, ok = answered(ua)
    ua.receive(request("ACK", ok), PEER, 1.1)
    drain(ua)
    reinvite = request("INVITE", ok, cseq=2, branch="z9hG4bK-hold")
    ua.receive(
        reinvite.replace(
            b"Content-Length: 0", b"Content-Type: application/sdp\r\nContent-Length: 5"
        )
        + b"v=0\r\n",
        PEER,
        2.0,
    )
    events, _ = drain(ua)
    assert events == [ev.OfferReceived(call_id, b"v=0\r\n")]
    ua.accept_offer(call_id, b"v=0\r\n", 2.1)
    assert statuses(drain(ua)[1]) == [200]


def test_requests_we_do_not_serve() -> None:
    ua = agent()
    _, ok = answered(ua)
    for method, status in (("SUBSCRIBE", 405), ("FROB", 501), ("OPTIONS", 200), ("INFO", 200)):
        ua.receive(request(method, ok, branch=f"z9hG4bK{method}"), PEER, 2.0)
        assert statuses(drain(ua)[1]) == [status], method
    stranger = request("BYE", ok).replace(ok.call_id.encode(), b"unknown-call")
    ua.receive(stranger, PEER, 2.0)
    events, sent = drain(ua)
    assert statuses(sent) == [481] and isinstance(events[0], ev.ProtocolViolation)


def test_registration_answers_the_challenge_and_refreshes() -> None:
    ua = agent()
    ua.register(RegistrationConfig(URI("sip", "10.0.0.1"), "agent7", "s3cret", expiry=120), 0.0)
    sent = drain(ua)[1]
    assert len(sent) == 1 and isinstance(sent[0], Request) and sent[0].method == "REGISTER"
    first = sent[0]

    def reply(req: Request, status: int, extra: str = "") -> bytes:
        head = "\r\n".join(
            f"{k}: {v}" for k, v in req.headers if k in ("Via", "From", "To", "Call-ID", "CSeq")
        )
        return f"SIP/2.0 {status} X\r\n{head}\r\n{extra}Content-Length: 0\r\n\r\n".encode()

    ua.receive(
        reply(first, 401, 'WWW-Authenticate: Digest realm="r", nonce="n1", qop="auth"\r\n'),
        PEER,
        0.1,
    )
    events, sent = drain(ua)
    assert not events and "Authorization" in dict(sent[0].headers.items)
    ua.receive(reply(sent[0], 200, "Expires: 120\r\n"), PEER, 0.2)
    events, _ = drain(ua)
    assert events == [ev.RegistrationChanged("registered", "", 120)]
    assert ua.registration is not None and ua.registration.state == "registered"
    assert ua.get_timer() is not None
    assert ua.get_timer() == 60.2  # refreshed 60 s before it expires
    ua.handle_timer(60.2)
    sent = drain(ua)[1]
    assert [m.method for m in sent if isinstance(m, Request)] == ["REGISTER"]
    ua.receive(reply(sent[0], 403), PEER, 60.3)
    events, _ = drain(ua)
    assert events == [ev.RegistrationChanged("failed", "403 X")]


def test_session_timer_is_left_to_the_caller() -> None:
    ua = agent()
    invite = INVITE.replace(
        b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nSession-Expires: 1800\r\n"
    )
    ua.receive(invite, PEER, 0.0)
    call = drain(ua)[0][0]
    assert isinstance(call, ev.IncomingCall)
    ua.answer(call.call_id, b"v=0\r\n", 0.5)
    ok = drain(ua)[1][-1]
    assert isinstance(ok, Response) and ok.status == 200
    assert ok.headers.get("Session-Expires") == "1800;refresher=uac"
    assert ok.headers.get("Require") == "timer"


OPERATOR = ev.Peer("udp", "127.0.0.1", 5070)


def reply(invite: Request, status: int, *, tag: str = "op1", body: bytes = b"") -> bytes:
    """The operator's phone answering one of our INVITEs (or CANCELs)."""
    head = "\r\n".join(f"{k}: {v}" for k, v in invite.headers if k in ("Via", "From", "Call-ID"))
    extra = "Contact: <sip:operator@127.0.0.1:5070>\r\n" if status < 300 else ""
    return (
        f"SIP/2.0 {status} Whatever\r\n{head}\r\nTo: {invite.headers.get('To')};tag={tag}\r\n"
        f"CSeq: {invite.headers.get('CSeq')}\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def dialled(ua: UserAgent) -> tuple[str, Request]:
    call_id = ua.dial(URI.parse("sip:operator@127.0.0.1:5070"), OPERATOR, b"v=0\r\n", 0.0)
    _, sent = drain(ua)
    (invite,) = sent
    assert isinstance(invite, Request) and invite.method == "INVITE" and invite.body == b"v=0\r\n"
    assert invite.call_id == call_id and invite.from_.tag and not invite.to.tag
    return call_id, invite


def test_dial_answered_then_hung_up_by_the_operator() -> None:
    ua = agent()
    call_id, invite = dialled(ua)
    ua.handle_timer(0.5)  # no answer yet: the INVITE again (Timer A)
    assert [m.method for m in drain(ua)[1] if isinstance(m, Request)] == ["INVITE"]
    ua.receive(reply(invite, 180), OPERATOR, 0.6)
    events, sent = drain(ua)
    assert events == [ev.OutgoingRinging(call_id, 180)] and not sent
    assert ua.get_timer() is None  # ringing: no retransmissions, no Timer B
    ua.receive(reply(invite, 200, body=b"v=0 answer\r\n"), OPERATOR, 3.0)
    events, sent = drain(ua)
    assert events == [ev.OutgoingAnswered(call_id, b"v=0 answer\r\n")]
    (ack,) = sent
    assert isinstance(ack, Request) and ack.method == "ACK" and ack.cseq.number == 1
    assert ack.uri == "sip:operator@127.0.0.1:5070" and ack.to.tag == "op1"
    assert ack.top_via.branch != invite.top_via.branch  # a 2xx ACK is its own transaction
    ua.receive(reply(invite, 200, body=b"v=0 answer\r\n"), OPERATOR, 3.5)  # our ACK got lost
    assert [m.method for m in drain(ua)[1] if isinstance(m, Request)] == ["ACK"]
    bye = (
        f"BYE sip:hotline@127.0.0.1:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye\r\n"
        f"From: {ack.headers.get('To')}\r\nTo: {ack.headers.get('From')}\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 7 BYE\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    ua.receive(bye, OPERATOR, 9.0)
    events, sent = drain(ua)
    assert events == [ev.CallEnded(call_id, "bye")] and statuses(sent) == [200]


def test_dial_cancelled_while_ringing() -> None:
    ua = agent()
    call_id, invite = dialled(ua)
    ua.hangup(call_id, 0.1)  # before any answer: the CANCEL waits for a provisional one
    assert drain(ua) == ([], [])
    ua.receive(reply(invite, 180), OPERATOR, 0.3)
    events, sent = drain(ua)
    (cancel,) = sent
    assert isinstance(cancel, Request) and cancel.method == "CANCEL"
    assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq.number == 1
    ua.receive(reply(cancel, 200), OPERATOR, 0.4)
    ua.receive(reply(invite, 487), OPERATOR, 0.5)
    events, sent = drain(ua)
    assert ev.CallEnded(call_id, "cancelled") in events
    (ack,) = sent
    assert isinstance(ack, Request) and ack.method == "ACK"
    assert ack.top_via.branch == invite.top_via.branch and ack.to.tag == "op1"
    ua.receive(reply(invite, 487), OPERATOR, 1.0)  # repeated: ACKed again, nothing else
    events, sent = drain(ua)
    assert not events and [m.method for m in sent if isinstance(m, Request)] == ["ACK"]


def test_dial_refused_or_unanswered() -> None:
    ua = agent()
    busy, invite = dialled(ua)
    ua.receive(reply(invite, 486), OPERATOR, 0.2)
    events, _ = drain(ua)
    assert events == [ev.CallEnded(busy, "refused 486")]
    silent, _ = dialled(ua)
    while (deadline := ua.get_timer()) is not None:
        ua.handle_timer(deadline)
    events, sent = drain(ua)
    # Sent again at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s, given up at 32 s (Timer B).
    assert [m.method for m in sent if isinstance(m, Request)] == ["INVITE"] * 6
    assert ev.CallEnded(silent, "no answer") in events
    assert ua.calls == 0


def test_an_answer_after_giving_up_is_acknowledged_and_ended() -> None:
    ua = agent()
    call_id, invite = dialled(ua)
    ua.receive(reply(invite, 180), OPERATOR, 0.2)
    drain(ua)
    ua.hangup(call_id, 0.3)
    drain(ua)
    ua.receive(reply(invite, 200, body=b"v=0\r\n"), OPERATOR, 0.4)  # crossed our CANCEL
    events, sent = drain(ua)
    assert [m.method for m in sent if isinstance(m, Request)] == ["ACK", "BYE"]
    assert not [e for e in events if isinstance(e, ev.OutgoingAnswered)]


def test_a_cancel_nobody_answers_ends_the_call_after_64_t1() -> None:
    ua = agent()
    call_id, invite = dialled(ua)
    ua.receive(reply(invite, 180), OPERATOR, 0.2)
    ua.hangup(call_id, 1.0)
    drain(ua)
    while (deadline := ua.get_timer()) is not None:
        ua.handle_timer(deadline)
    events, _ = drain(ua)
    assert events == [ev.CallEnded(call_id, "cancelled")] and ua.calls == 0


def test_a_session_whose_refreshes_stop_is_overdue() -> None:
    """RFC 4028 §10: the side that does not refresh ends the call shortly before the
    session would expire (by a third of the interval, 32 s at most); each refresh
    (a re-INVITE answered) starts the interval again. On hold too, where no RTP flows."""
    ua = agent()
    invite = INVITE.replace(
        b"Max-Forwards: 70\r\n", b"Max-Forwards: 70\r\nSession-Expires: 120\r\n"
    )
    ua.receive(invite, PEER, 0.0)
    call = drain(ua)[0][0]
    assert isinstance(call, ev.IncomingCall)
    ua.answer(call.call_id, b"v=0\r\n", 0.5)
    ok = drain(ua)[1][-1]
    assert isinstance(ok, Response)
    ua.receive(request("ACK", ok), PEER, 0.6)
    drain(ua)
    assert ua.session_overdue(call.call_id, 0.5 + 88) is None
    assert ua.session_overdue(call.call_id, 0.5 + 89) == 120
    refresh = request("INVITE", ok, cseq=2, branch="z9hG4bK-refresh").replace(
        b"Content-Length: 0",
        b"Session-Expires: 120\r\nContent-Type: application/sdp\r\nContent-Length: 5",
    )
    ua.receive(refresh + b"v=0\r\n", PEER, 50.0)
    drain(ua)
    ua.accept_offer(call.call_id, b"v=0\r\n", 50.0)
    assert statuses(drain(ua)[1]) == [200]
    ua.receive(request("ACK", ok, cseq=2), PEER, 50.1)
    drain(ua)
    assert ua.session_overdue(call.call_id, 0.5 + 89) is None
    assert ua.session_overdue(call.call_id, 50 + 89) == 120
    assert ua.session_overdue("no-such-call", 1000.0) is None
