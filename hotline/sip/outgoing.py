"""Calls the user agent places (RFC 3261 §13.2 as a UAC, §9.1 CANCEL, §17.1.1): the
INVITE, its ACK, giving up while it rings. A part of ``UserAgent``, kept apart so
that each file holds one side of a call; it uses the agent's dialogs, timers, event
and output queues.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from hotline.sip.address import URI, Address
from hotline.sip.client import ClientTransaction, cancel_for
from hotline.sip.dialog import ALLOW, Dialog
from hotline.sip.events import CallEnded, Event, OutgoingAnswered, OutgoingRinging, Peer
from hotline.sip.message import Request, Response
from hotline.sip.timers import TimerQueue

if TYPE_CHECKING:
    from hotline.sip.agent import AgentConfig


class OutgoingCalls:
    # What the agent provides.
    config: AgentConfig
    timers: TimerQueue
    _now: float
    _dialogs: dict[str, Dialog]
    _events: deque[Event]
    _out: list[tuple[bytes, Peer]]
    _client: dict[tuple[str, str], ClientTransaction]
    _acks: dict[tuple[str, str], tuple[bytes, Peer]]
    _local: Callable[[Peer], tuple[str, int]]

    def _via(self, peer: Peer) -> str:
        raise NotImplementedError

    def _contact(self, peer: Peer) -> str:
        raise NotImplementedError

    def hangup(self, call_id: str, now: float, reason: str = "", cause: str = "hangup") -> None:
        raise NotImplementedError

    def dial(self, target: URI, peer: Peer, sdp: bytes, now: float, *, caller: str = "") -> str:
        """Place a call to ``target`` (sent to ``peer``) offering ``sdp``; returns its
        Call-ID. ``OutgoingRinging``, then ``OutgoingAnswered`` or ``CallEnded`` follow;
        ``hangup`` cancels it while it rings."""
        self._now = now
        call_id = f"{secrets.token_hex(12)}@hotline"
        host, port = self._local(peer)
        ours = URI("sip", host, self.config.user, port)
        dialog = Dialog(
            call_id=call_id,
            peer=peer,
            invite_key="",
            local=Address(ours, display=caller).with_tag(secrets.token_hex(4)),
            remote=Address(target),
            remote_target=target,
            route_set=[],
            remote_cseq=0,
            state="calling",
        )
        request = dialog.request("INVITE", self._via(peer), self.config.user_agent)
        request.headers.add("Contact", self._contact(peer))
        request.headers.add("Allow", ALLOW)
        request.headers.add("Content-Type", "application/sdp")
        request.body = sdp
        self._dialogs[call_id] = dialog

        def provisional(response: Response, when: float) -> None:
            if dialog.state == "calling":
                dialog.state = "proceeding"
                if dialog.cancel:
                    self._send_cancel(dialog, when)
            self._events.append(OutgoingRinging(call_id, response.status))

        def final(response: Response | None, when: float) -> None:
            self._invite_answered(dialog, response, when)

        dialog.invite = self._start_client(request, peer, final, now, provisional)
        return call_id

    def _invite_answered(self, dialog: Dialog, response: Response | None, now: float) -> None:
        assert dialog.invite is not None
        invite = dialog.invite.request
        key = (invite.top_via.branch, "INVITE")
        if response is None or response.status >= 300:
            if dialog.invite.ack:  # keep it for repeats of the final answer (Timer D)
                self._keep_ack(key, (dialog.invite.ack, dialog.peer), now)
            self._dialogs.pop(dialog.call_id, None)
            if dialog.cancel:
                cause = "cancelled"
            else:
                cause = "no answer" if response is None else f"refused {response.status}"
            self._events.append(CallEnded(dialog.call_id, cause))
            return
        # 2xx (§13.2.2.4): the dialog is confirmed; the ACK is a transaction of its own.
        contact = response.headers.get_all("Contact")
        dialog.remote = response.to
        if contact:
            dialog.remote_target = Address.parse(contact[0]).uri
        dialog.route_set = list(reversed(response.headers.get_all("Record-Route")))
        dialog.state = "confirmed"
        ack = dialog.request("ACK", self._via(dialog.peer), self.config.user_agent)
        dialog.local_cseq -= 1  # the ACK carries the INVITE's CSeq number
        ack.headers.set("CSeq", f"{invite.cseq.number} ACK")
        sent = (bytes(ack), dialog.destination())
        self._out.append(sent)
        self._keep_ack(key, sent, now)
        if dialog.cancel:  # answered as we gave up: end it properly (§15)
            self.hangup(dialog.call_id, now, cause="cancelled")
            return
        self._events.append(OutgoingAnswered(dialog.call_id, response.body))

    def _keep_ack(self, key: tuple[str, str], ack: tuple[bytes, Peer], now: float) -> None:
        self._acks[key] = ack

        def forget(when: float) -> None:
            self._acks.pop(key, None)

        self.timers.at(now + 64 * self.config.t1, forget)

    def _send_cancel(self, dialog: Dialog, now: float) -> None:
        invite = dialog.invite
        assert invite is not None
        self._start_client(cancel_for(invite.request), dialog.peer, _ignore, now)

        def give_up(when: float) -> None:  # §9.1: no final answer 64·T1 after the CANCEL
            if not invite.done:
                invite.cancel()
                self._client.pop((invite.branch, "INVITE"), None)
                self._invite_answered(dialog, None, when)

        self.timers.at(now + 64 * self.config.t1, give_up)

    def _start_client(
        self,
        request: Request,
        peer: Peer,
        on_result: Callable[[Response | None, float], None],
        now: float,
        on_provisional: Callable[[Response, float], None] | None = None,
    ) -> ClientTransaction:
        txn = ClientTransaction(
            request,
            peer,
            timers=self.timers,
            send=lambda data, peer: self._out.append((data, peer)),
            on_result=on_result,
            now=now,
            t1=self.config.t1,
            t2=self.config.t2,
            on_provisional=on_provisional,
        )
        self._client[(txn.branch, request.method)] = txn
        return txn


def _ignore(response: Response | None, now: float) -> None:
    """The answer to a CANCEL tells nothing: the INVITE's own answer (487) follows."""
