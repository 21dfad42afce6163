"""The user agent core, sans-I/O: bytes and time in, events and bytes out.

It answers calls as a UAS (RFC 3261 §13.3, §15, §17.2: INVITE, ACK, CANCEL, BYE,
re-INVITE, OPTIONS), places calls as a UAC (``dial``: §13.2, §9.1 CANCEL, §17.1.1),
ends them with BYE, keeps a registration fresh, and absorbs retransmissions. The
adapter feeds ``receive()`` and ``handle_timer()``, drains ``next_event()`` and
``datagrams_to_send()``, re-arms one timer at ``get_timer()``, and answers each
``IncomingCall`` / ``OfferReceived`` with the commands below.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from hotline.errors import SIPProtocolError
from hotline.sip.address import URI, Address
from hotline.sip.client import ClientTransaction
from hotline.sip.dialog import ALLOW, Dialog
from hotline.sip.events import (
    CallConfirmed,
    CallEnded,
    Event,
    IncomingCall,
    OfferReceived,
    Peer,
    ProtocolViolation,
)
from hotline.sip.message import Request, Response, parse_message, response_to
from hotline.sip.outgoing import OutgoingCalls
from hotline.sip.register import Registration, RegistrationConfig
from hotline.sip.server import ServerTransactions, check_body, transaction_key
from hotline.sip.timers import T1, T2, TimerQueue

_KNOWN_METHODS = {
    "REGISTER",
    "SUBSCRIBE",
    "NOTIFY",
    "MESSAGE",
    "PUBLISH",
    "REFER",
    "PRACK",
    "UPDATE",
}

LocalAddress = Callable[[Peer], tuple[str, int]]
"""Our address as ``peer`` reaches us: for Via, Contact and SDP."""


@dataclass(frozen=True, slots=True)
class AgentConfig:
    user: str = "hotline"
    user_agent: str = "hotline"
    t1: float = T1
    t2: float = T2


class UserAgent(OutgoingCalls):
    def __init__(self, config: AgentConfig, local_address: LocalAddress) -> None:
        self.config = config
        self.timers = TimerQueue()
        self.registration: Registration | None = None
        self._local = local_address
        self._events: deque[Event] = deque()
        self._out: list[tuple[bytes, Peer]] = []
        self._dialogs: dict[str, Dialog] = {}
        self._txns = ServerTransactions(self.timers, self._queue, config.t1, config.t2)
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        """Our transactions by (branch, method): a CANCEL shares its INVITE's branch."""
        self._acks: dict[tuple[str, str], tuple[bytes, Peer]] = {}
        """The ACK to repeat when a final answer to one of our INVITEs comes again."""
        self._registrar_peer: Peer | None = None
        self._now = 0.0

    # ---- adapter side -------------------------------------------------------------
    def receive(self, data: bytes, peer: Peer, now: float) -> None:
        self._now = now
        if not data.strip(b"\r\n\x00 "):
            return  # keepalive (RFC 5626 §3.5.1)
        try:
            message = parse_message(data)
        except SIPProtocolError as exc:
            self._events.append(ProtocolViolation(peer, str(exc), None))
            return
        if isinstance(message, Response):
            self._on_response(message, now)
            return
        try:
            message.check()
            retransmitted = message.method not in ("INVITE", "ACK") and self._txns.repeat(
                transaction_key(message)
            )
            if retransmitted:  # answered the same way again (§17.2.2)
                return
            handler = getattr(self, f"_on_{message.method.lower()}", None)
            if handler is not None:
                handler(message, peer, now)
            elif message.method in _KNOWN_METHODS:
                self._respond(message, peer, 405, "Method Not Allowed", headers=[("Allow", ALLOW)])
            else:
                self._respond(message, peer, 501, "Not Implemented", headers=[("Allow", ALLOW)])
        except SIPProtocolError as exc:
            status = exc.status if message.method != "ACK" and message.headers.get("Via") else None
            if status is not None:
                self._answer_bad(message, peer, status, exc)
            self._events.append(ProtocolViolation(peer, f"{message.method}: {exc}", status))

    def _answer_bad(self, message: Request, peer: Peer, status: int, exc: SIPProtocolError) -> None:
        """Answer a request that failed a check, from raw header values only: the
        parsed ones may be what is malformed."""
        warning = str(exc).replace('"', "'")[:200]
        extra = [("Warning", f'399 hotline "{warning}"'), ("Server", self.config.user_agent)]
        if status == 420:
            extra.append(("Unsupported", ", ".join(message.headers.get_all("Require"))))
        if status == 415:
            extra.append(("Accept", "application/sdp"))
        response = response_to(
            message, status, exc.reason, to_tag=secrets.token_hex(4), headers=extra
        )
        self._out.append((bytes(response), peer))

    def _queue(self, data: bytes, peer: Peer) -> None:
        self._out.append((data, peer))

    def handle_timer(self, now: float) -> None:
        self._now = now
        self.timers.run_due(now)

    def get_timer(self) -> float | None:
        return self.timers.deadline()

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self) -> list[tuple[bytes, Peer]]:
        out, self._out = self._out, []
        return out

    @property
    def calls(self) -> int:
        return len(self._dialogs)

    # ---- commands -----------------------------------------------------------------
    def ring(self, call_id: str, now: float) -> None:
        self._now = now
        dialog = self._dialogs.get(call_id)
        if dialog is not None and dialog.state == "early" and dialog.pending is not None:
            self._final_or_provisional(dialog, 180, "Ringing", now)

    def answer(self, call_id: str, sdp: bytes, now: float) -> None:
        self._now = now
        dialog = self._dialogs.get(call_id)
        if dialog is not None and dialog.state == "early":
            self._send_2xx(dialog, sdp, now)

    def reject(self, call_id: str, status: int, reason: str, now: float) -> None:
        self._now = now
        dialog = self._dialogs.pop(call_id, None)
        if dialog is not None and dialog.pending is not None:
            self._final_or_provisional(dialog, status, reason, now)

    def accept_offer(self, call_id: str, sdp: bytes, now: float) -> None:
        self._now = now
        dialog = self._dialogs.get(call_id)
        if dialog is not None and dialog.pending is not None and not dialog.final:
            self._send_2xx(dialog, sdp, now)

    def reject_offer(self, call_id: str, status: int, reason: str, now: float) -> None:
        self._now = now
        dialog = self._dialogs.get(call_id)
        if dialog is not None and dialog.pending is not None and not dialog.final:
            self._final_or_provisional(dialog, status, reason, now)
            dialog.pending = None

    def hangup(self, call_id: str, now: float, reason: str = "", cause: str = "hangup") -> None:
        """End a call: 480 while it rings, BYE once answered. ``CallEnded(cause)`` follows."""
        self._now = now
        dialog = self._dialogs.get(call_id)
        if dialog is None or dialog.state == "ending":
            return
        if dialog.state == "early":
            self.reject(call_id, 480, "Temporarily Unavailable", now)
            self._events.append(CallEnded(call_id, cause))
            return
        if dialog.state in ("calling", "proceeding"):
            dialog.cancel = True
            if dialog.state == "proceeding":  # §9.1: not before a provisional response
                self._send_cancel(dialog, now)
            return
        dialog.stop_2xx()
        dialog.state = "ending"
        request = dialog.request("BYE", self._via(dialog.peer), self.config.user_agent)
        if reason:
            request.headers.add("Reason", f'SIP;cause=200;text="{reason}"')

        def done(response: Response | None, when: float) -> None:
            if self._dialogs.pop(call_id, None) is not None:
                self._events.append(CallEnded(call_id, cause))

        dialog.bye = self._start_client(request, dialog.destination(), done, now)

    def register(self, config: RegistrationConfig, now: float) -> None:
        transport = config.registrar.params.get("transport", "udp").lower()
        self._registrar_peer = Peer(transport, config.registrar.host, config.registrar.port or 5060)
        self.registration = Registration(
            config, call_id=secrets.token_hex(12), tag=secrets.token_hex(4)
        )
        self._send_register(now)

    def unregister(self, now: float) -> None:
        if self.registration is not None and self.registration.state == "registered":
            self._send_register(now, unregister=True)
        self.registration = None

    # ---- requests -----------------------------------------------------------------
    def session_overdue(self, call_id: str, now: float) -> int | None:
        """The session interval of a call whose caller stopped refreshing it: RFC 4028
        §10 has the side that does not refresh send BYE shortly before it would expire
        (by a third of the interval, 32 s at most). ``None`` while it is on time."""
        dialog = self._dialogs.get(call_id)
        if dialog is None or not dialog.session_expires or dialog.state != "confirmed":
            return None
        interval = dialog.session_expires
        if now - dialog.refreshed_at > interval - min(32, interval / 3):
            return interval
        return None

    def _on_invite(self, request: Request, peer: Peer, now: float) -> None:
        key = transaction_key(request)
        if self._txns.repeat(key):  # a retransmission: repeat what we last said (§17.2.1)
            return
        if request.to.tag:
            self._on_reinvite(request, peer, now, key)
            return
        if request.call_id in self._dialogs:
            raise SIPProtocolError("a second INVITE for a live Call-ID", 482, "Loop Detected")
        check_body(request)
        contact = request.headers.get_all("Contact")
        if not contact:
            raise SIPProtocolError("INVITE without Contact", 400, "Missing Contact")
        unsupported = [opt for opt in request.headers.get_all("Require") if opt.lower() != "timer"]
        if unsupported:
            raise SIPProtocolError(
                f"requires {', '.join(unsupported)}", 420, "Bad Extension"
            )  # the Unsupported header is added in _respond
        caller = request.from_
        if not caller.tag:
            raise SIPProtocolError("From without a tag", 400, "Missing From Tag")
        # Everything that can refuse the INVITE is read before the dialog exists: a
        # refusal after it would leave the dialog behind, and its Call-ID refused for good.
        callee = URI.parse(request.uri)
        remote_target = Address.parse(contact[0]).uri
        dialog = Dialog(
            call_id=request.call_id,
            peer=peer,
            invite_key=key,
            local=request.to.with_tag(secrets.token_hex(4)),
            remote=caller,
            remote_target=remote_target,
            route_set=request.headers.get_all("Record-Route"),
            remote_cseq=request.cseq.number,
            pending=request,
            pending_key=key,
        )
        self._txns.open(key, peer)
        self._dialogs[request.call_id] = dialog
        self._final_or_provisional(dialog, 100, "Trying", now)
        self._events.append(
            IncomingCall(request.call_id, caller, callee, request.body, peer, request)
        )

    def _on_reinvite(self, request: Request, peer: Peer, now: float, key: str) -> None:
        dialog = self._dialog_for(request)
        if dialog.pending is not None or dialog.state != "confirmed":
            raise SIPProtocolError(
                "an earlier INVITE is still pending", 500, "Server Internal Error"
            )
        if request.cseq.number <= dialog.remote_cseq:
            raise SIPProtocolError("CSeq not above the last one", 500, "Server Internal Error")
        check_body(request)
        dialog.remote_cseq = request.cseq.number
        contact = request.headers.get_all("Contact")
        if contact:
            dialog.remote_target = Address.parse(contact[0]).uri
        dialog.pending, dialog.pending_key, dialog.final = request, key, b""
        self._txns.open(key, peer)
        self._events.append(OfferReceived(request.call_id, request.body))

    def _on_ack(self, request: Request, peer: Peer, now: float) -> None:
        if self._txns.acknowledged(transaction_key(request)):
            return
        dialog = self._dialogs.get(request.call_id)
        if (
            dialog is None
            or dialog.pending is None
            or not dialog.final
            or request.to.tag != dialog.local.tag
            or request.cseq.number != dialog.pending.cseq.number
        ):
            return  # a stray or repeated ACK: nothing to do (§17.2.3 note)
        dialog.stop_2xx()
        dialog.pending, dialog.final = None, b""
        if dialog.state == "answered":
            dialog.state = "confirmed"
        self._events.append(CallConfirmed(dialog.call_id, request.body))

    def _on_cancel(self, request: Request, peer: Peer, now: float) -> None:
        key = transaction_key(request, "INVITE")
        dialog = next((d for d in self._dialogs.values() if d.invite_key == key), None)
        if dialog is None or key not in self._txns:
            raise SIPProtocolError("no INVITE to cancel", 481, "Call/Transaction Does Not Exist")
        self._respond(request, peer, 200, "OK")
        if dialog.state == "early":
            self._dialogs.pop(dialog.call_id, None)
            self._final_or_provisional(dialog, 487, "Request Terminated", now)
            self._events.append(CallEnded(dialog.call_id, "cancel"))

    def _on_bye(self, request: Request, peer: Peer, now: float) -> None:
        dialog = self._dialog_for(request)
        self._respond(request, peer, 200, "OK")
        self._dialogs.pop(dialog.call_id, None)
        if dialog.state == "early" and dialog.pending is not None:  # §15.1.2
            self._final_or_provisional(dialog, 487, "Request Terminated", now)
        dialog.stop_2xx()
        if dialog.bye is not None:
            dialog.bye.cancel()
        self._events.append(CallEnded(dialog.call_id, "bye"))

    def _on_options(self, request: Request, peer: Peer, now: float) -> None:
        self._respond(
            request, peer, 200, "OK", headers=[("Allow", ALLOW), ("Accept", "application/sdp")]
        )

    def _on_info(self, request: Request, peer: Peer, now: float) -> None:
        self._dialog_for(request)
        self._respond(request, peer, 200, "OK")

    # ---- responses ----------------------------------------------------------------
    def _on_response(self, response: Response, now: float) -> None:
        try:
            branch = response.top_via.branch
        except SIPProtocolError:
            return
        try:
            key = (branch, response.cseq.method)
        except SIPProtocolError:
            return
        txn = self._client.get(key)
        if txn is not None:
            txn.receive(response, now)
            if txn.done:
                self._client.pop(key, None)
        elif response.status >= 200 and key in self._acks:
            self._out.append(self._acks[key])  # a repeated final answer: ACK it again

    # ---- helpers ------------------------------------------------------------------
    def _dialog_for(self, request: Request) -> Dialog:
        dialog = self._dialogs.get(request.call_id)
        if (
            dialog is None
            or request.to.tag != dialog.local.tag
            or request.from_.tag != dialog.remote.tag
        ):
            raise SIPProtocolError("no such dialog", 481, "Call/Transaction Does Not Exist")
        return dialog

    def _respond(
        self,
        request: Request,
        peer: Peer,
        status: int,
        reason: str,
        *,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        extra = [*(headers or []), ("Server", self.config.user_agent)]
        tag = None if request.to.tag or status == 100 else secrets.token_hex(4)
        data = bytes(response_to(request, status, reason, to_tag=tag, headers=extra))
        invite = request.method == "INVITE"
        self._txns.answer(transaction_key(request), peer, data, status, self._now, invite=invite)

    def _final_or_provisional(self, dialog: Dialog, status: int, reason: str, now: float) -> None:
        request = dialog.pending
        assert request is not None
        headers = [("Server", self.config.user_agent)]
        if 100 < status < 200:
            headers.append(("Contact", self._contact(dialog.peer)))
        data = bytes(response_to(request, status, reason, to_tag=dialog.local.tag, headers=headers))
        self._txns.answer(dialog.pending_key, dialog.peer, data, status, now, invite=True)

    def _send_2xx(self, dialog: Dialog, sdp: bytes, now: float) -> None:
        request = dialog.pending
        assert request is not None
        headers = [
            ("Contact", self._contact(dialog.peer)),
            ("Allow", ALLOW),
            ("Supported", "timer"),
            ("Server", self.config.user_agent),
            ("Content-Type", "application/sdp"),
        ]
        expires = (request.headers.get("Session-Expires") or "").split(";")[0].strip()
        if expires.isascii() and expires.isdecimal() and 0 < int(expires) <= 86_400:
            # RFC 4028 §9: accept the caller's session timer; it refreshes (re-INVITE) and
            # we answer. One whose refreshes stop is ended (``session_overdue``), on hold
            # too, where the RTP silence timeout does not run.
            headers += [("Session-Expires", f"{expires};refresher=uac"), ("Require", "timer")]
            dialog.session_expires, dialog.refreshed_at = int(expires), now
        else:  # none asked for; a refresh without one turns the timer off (§9)
            dialog.session_expires = 0
        data = bytes(
            response_to(request, 200, "OK", to_tag=dialog.local.tag, headers=headers, body=sdp)
        )
        dialog.final = data
        if dialog.state == "early":
            dialog.state = "answered"
        # Later copies of this INVITE get the 2xx again (RFC 6026).
        self._txns.answer(dialog.pending_key, dialog.peer, data, 200, now, invite=True)
        # §13.3.1.4: the UAS core resends the 2xx until the ACK, and gives up at 64·T1.
        if not dialog.peer.reliable:
            dialog.interval = self.config.t1
            dialog.retransmit = self.timers.at(
                now + dialog.interval, lambda t: self._resend_2xx(dialog, t)
            )
        dialog.ack_deadline = self.timers.at(
            now + 64 * self.config.t1, lambda t: self._no_ack(dialog, t)
        )

    def _resend_2xx(self, dialog: Dialog, now: float) -> None:
        if dialog.final:
            self._out.append((dialog.final, dialog.peer))
            dialog.interval = min(dialog.interval * 2, self.config.t2)
            dialog.retransmit = self.timers.at(
                now + dialog.interval, lambda t: self._resend_2xx(dialog, t)
            )

    def _no_ack(self, dialog: Dialog, now: float) -> None:
        if self._dialogs.get(dialog.call_id) is dialog and dialog.final:
            dialog.final, dialog.pending = b"", None
            dialog.state = "confirmed"
            self.hangup(dialog.call_id, now, "no ACK", cause="no-ack")

    def _contact(self, peer: Peer) -> str:
        host, port = self._local(peer)
        uri = URI(
            "sip", host, self.config.user, port, {"transport": "tcp"} if peer.reliable else {}
        )
        return f"<{uri}>"

    def _via(self, peer: Peer) -> str:
        host, port = self._local(peer)
        branch = f"z9hG4bK{secrets.token_hex(10)}"
        return f"SIP/2.0/{peer.transport.upper()} {_host(host)}:{port};branch={branch};rport"

    def _send_register(self, now: float, unregister: bool = False) -> None:
        registration, peer = self.registration, self._registrar_peer
        if registration is None or peer is None:
            return
        host, port = self._local(peer)
        contact = URI(
            "sip",
            host,
            registration.config.user,
            port,
            {"transport": "tcp"} if peer.reliable else {},
        )
        request = registration.build(
            via=self._via(peer),
            contact=str(contact),
            user_agent=self.config.user_agent,
            unregister=unregister,
        )

        def done(response: Response | None, when: float) -> None:
            if unregister or self.registration is not registration:
                return
            event, next_at = registration.on_result(response, when)
            if event is not None:
                self._events.append(event)
            if next_at is not None and next_at <= when:
                self._send_register(when)  # with the credentials the challenge asked for
            elif next_at is not None:
                self.timers.at(
                    next_at,
                    lambda t: self._send_register(t) if self.registration is registration else None,
                )

        self._start_client(request, peer, done, now)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
