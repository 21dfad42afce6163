"""``SIPLine``: the built-in SIP line as one asyncio component.

It feeds the sans-I/O ``UserAgent`` from UDP/TCP, acts on its events, and runs each
call: ring, answer, record from answer to hangup (caller on channel 1, the notice we
play on channel 2), and report the call facts to the ``FactSink`` in order. Two shared
clocks drive all calls: a 20 ms one sends notice frames, a 250 ms one writes
recordings to disk and enforces the RTP silence timeout and the maximum duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.calls import (
    CallAnswered,
    CallEnded,
    CallFact,
    CallStarted,
    FactSink,
    Incident,
    IncidentKind,
    RecordingFinished,
    RecordingStarted,
)
from hotline.courier import FactCourier
from hotline.errors import SIPProtocolError
from hotline.rtp.endpoint import keep_stamping
from hotline.rtp.recording import RATE, CallRecorder, DiskSync
from hotline.rtp.session import MediaSession, Notice, open_media
from hotline.sip import events as ev
from hotline.sip import sdp
from hotline.sip.agent import AgentConfig, UserAgent
from hotline.sip.bridge import BridgeHooks, OperatorBridge
from hotline.sip.call import LiveCall, call_key, recording_name
from hotline.sip.config import SIPConfig, load_notice
from hotline.sip.register import RegistrationConfig
from hotline.sip.spool import (
    Claim,
    Claims,
    Leftover,
    drop_claim,
    leftovers,
    recovery_facts,
    write_claim,
)
from hotline.sip.status import RegistrationStatus, SIPLineStatus
from hotline.sip.transport import Transports

log = logging.getLogger(__name__)
_CAUSES = {"bye": "caller hung up", "cancel": "caller cancelled", "no-ack": "no ACK from caller"}


class SIPLine:
    """The SIP line: ``await start()`` binds and (when configured) registers;
    ``await stop()`` ends live calls with BYE, finishes their recordings and facts, and
    closes (idempotent). ``status`` is for ``/api/health``. Also ``async with``."""

    def __init__(self, config: SIPConfig, sink: FactSink) -> None:
        self.config = config
        self._notice: Notice | None = None
        self._agent: UserAgent | None = None
        self._net = Transports(self._receive, self._spawn, config)
        self._bridge = OperatorBridge(
            config,
            self._net,
            BridgeHooks(lambda: self._agent, self._process, self._spawn, self._hangup, self._now),
        )
        self._calls: dict[str, LiveCall] = {}
        self._playing: set[LiveCall] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._services: list[asyncio.Task[None]] = []
        self._claims = Claims()
        self._disk: DiskSync | None = None
        self._courier = FactCourier(sink, stored=self._claims.stored, lost=self._claims.lost)
        self._timer: asyncio.TimerHandle | None = None
        self._running = False
        self._stopped = False
        self._stopping: asyncio.Future[None] | None = None
        self._rejected = 0
        self._registration_failed = False
        self._recovered_count = 0

    # ---- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        if self._running or self._stopped:
            return
        self._notice = load_notice(self.config.notice_path)
        self.config.recordings_dir.mkdir(parents=True, exist_ok=True)
        if self.config.sync_blocks and self._disk is None:
            self._disk = DiskSync(self.config.recordings_dir)
        for leftover in await asyncio.to_thread(leftovers, self.config.recordings_dir):
            self._recovered(leftover)
        self._agent = UserAgent(
            AgentConfig(self.config.user, self.config.user_agent), self._net.local
        )
        keep_stamping()  # before the first call: see hotline.rtp.endpoint
        await self._net.listen()
        self._running = True
        for service in (self._deliver, self._media_clock, self._housekeeping):
            self._start_service(service)
        if self.config.registrar:
            self._agent.register(await self._registration_config(), self._now())
            self._process()
        log.info("SIP line listening on %s", ", ".join(self.status.listening))

    async def __aenter__(self) -> SIPLine:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        """End live calls (BYE), finish their recordings and facts, then close.
        Idempotent: a second call waits for the first to finish."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        self._stopped, was_running = True, self._running
        self._courier.closing = True
        self._running = False
        if not was_running:
            if self._disk is not None:
                self._disk.stop()
            return
        for call in list(self._calls.values()):
            self._hangup(call, "service stopping")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.config.shutdown_grace)
        assert self._agent is not None
        self._agent.unregister(self._now())
        self._process()
        await asyncio.sleep(0)  # let the last datagrams leave
        await self._courier.drain(self.config.shutdown_grace)
        for task in [*self._tasks, *self._services]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._services, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
        self._net.close()
        if self._disk is not None:
            await asyncio.to_thread(self._disk.stop)

    @property
    def disk(self) -> DiskSync | None:
        """What brings the recordings' blocks to the disk (``None``: ``sync_blocks`` off)."""
        return self._disk

    @property
    def status(self) -> SIPLineStatus:
        listening = self._net.listening
        registration = None
        reg = self._agent.registration if self._agent else None
        if self.config.registrar:
            expires = None
            if reg is not None and reg.expires_at is not None:
                expires = datetime.now(UTC) + timedelta(seconds=reg.expires_at - self._now())
            registration = RegistrationStatus(
                reg.state if reg else "off",
                self.config.registrar,
                reg.last_error if reg else "",
                expires,
            )
        calls = tuple(call.status() for call in self._calls.values())
        return SIPLineStatus(
            self._running,
            listening,
            registration,
            calls,
            self._rejected,
            facts_lost=self._courier.lost,
            recovered=self._recovered_count,
        )

    # ---- the core's I/O -----------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _receive(self, data: bytes, peer: ev.Peer) -> None:
        if self._agent is not None:
            self._agent.receive(data, peer, self._now())
            self._process()

    def _on_timer(self) -> None:
        self._timer = None
        if self._agent is not None:
            self._agent.handle_timer(self._now())
            self._process()

    def _process(self) -> None:
        agent = self._agent
        assert agent is not None
        while (event := agent.next_event()) is not None:
            self._handle(event)
        for data, peer in agent.datagrams_to_send():
            self._net.send(data, peer)
        deadline = agent.get_timer()
        if self._timer is not None and (deadline is None or self._timer.when() != deadline):
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    # ---- events -------------------------------------------------------------------
    def _handle(self, event: ev.Event) -> None:
        if isinstance(event, ev.IncomingCall):
            self._incoming(event)
        elif isinstance(event, ev.CallEnded):
            if self._bridge.leg_ended(event):
                return
            call = self._calls.get(event.call_id)
            if call is not None:
                call.end(_CAUSES.get(event.cause, event.cause), self._now())
        elif isinstance(event, ev.OutgoingRinging):
            self._bridge.ringing(event)
        elif isinstance(event, ev.OutgoingAnswered):
            self._bridge.answered(event)
        elif isinstance(event, ev.CallConfirmed):
            self._confirmed(event)
        elif isinstance(event, ev.OfferReceived):
            self._reoffer(event)
        elif isinstance(event, ev.RegistrationChanged):
            self._registration_changed(event)
        elif isinstance(event, ev.ProtocolViolation):
            self._rejected += 1
            log.debug(
                "SIP message from %s:%s rejected: %s",
                event.peer.host,
                event.peer.port,
                event.detail,
            )

    def _incoming(self, event: ev.IncomingCall) -> None:
        agent, now = self._agent, self._now()
        assert agent is not None
        uri = event.caller.uri
        call = LiveCall(
            call_id=event.call_id,
            caller=uri.user or str(uri),
            caller_name=event.caller.display,
            callee=event.callee.user,
            peer=event.peer,
            started_at=datetime.now(UTC),
            offer=None,
            session_id=random.getrandbits(40),
        )
        call.key = call_key(event.call_id, call.started_at)
        self._emit(
            CallStarted(
                call_id=call.key,
                source="sip",
                at=call.started_at,
                caller=call.caller,
                callee=call.callee,
                caller_name=call.caller_name,
            )
        )
        try:
            if not self._running or len(self._calls) >= self.config.max_calls:
                raise SIPProtocolError("line busy", 503, "Service Unavailable")
            if event.offer:
                call.offer = sdp.SessionDescription.parse(event.offer)
                sdp.answer(
                    call.offer,
                    address="127.0.0.1",
                    port=9,
                    session_id=0,
                    version=0,
                    codecs=self.config.codecs,
                )
        except SIPProtocolError as exc:
            agent.reject(call.call_id, exc.status, exc.reason, now)
            self._emit(
                CallEnded(
                    call_id=call.key,
                    at=datetime.now(UTC),
                    answered=False,
                    cause=f"rejected: {exc.status} {exc}",
                )
            )
            return
        self._calls[call.call_id] = call
        agent.ring(call.call_id, now)
        self._spawn(self._run_call(call), f"sip-call-{call.call_id[:40]}")

    def _confirmed(self, event: ev.CallConfirmed) -> None:
        call = self._calls.get(event.call_id)
        if call is None or not call.awaiting_answer:
            return
        call.awaiting_answer = False
        try:
            assert call.our_sdp is not None
            negotiated = sdp.accept_answer(call.our_sdp, sdp.SessionDescription.parse(event.answer))
        except SIPProtocolError as exc:
            log.warning("unusable SDP answer in ACK: %s", exc, extra={"call_id": call.call_id})
            self._hangup(call, f"unusable SDP answer: {exc}")
            return
        self._apply(call, negotiated)

    def _reoffer(self, event: ev.OfferReceived) -> None:
        agent, call, now = self._agent, self._calls.get(event.call_id), self._now()
        assert agent is not None
        if event.call_id in self._bridge.legs:
            self._bridge.reoffer(event)
            return
        if call is None or call.media is None:
            agent.reject_offer(event.call_id, 500, "Server Internal Error", now)
            return
        try:
            if not event.offer:  # an offer request: ours goes in the 200, theirs in the ACK
                call.our_sdp = self._our_sdp(call, None)
                call.awaiting_answer = True
            else:
                call.offer = sdp.SessionDescription.parse(event.offer)
                call.our_sdp = self._our_sdp(call, call.offer)
        except SIPProtocolError as exc:
            agent.reject_offer(event.call_id, exc.status, exc.reason, now)
            return
        agent.accept_offer(event.call_id, bytes(call.our_sdp), now)

    def _apply(self, call: LiveCall, negotiated: sdp.Negotiated) -> None:
        if call.apply(negotiated, self._now()):
            self._playing.add(call)

    def _our_sdp(
        self, call: LiveCall, offer: sdp.SessionDescription | None
    ) -> sdp.SessionDescription:
        ours, negotiated = call.describe(offer, self._net.local(call.peer)[0], self.config.codecs)
        if negotiated is not None:
            self._apply(call, negotiated)
        return ours

    def _registration_changed(self, event: ev.RegistrationChanged) -> None:
        if event.state == "failed":
            log.error("SIP registration at %s failed: %s", self.config.registrar, event.detail)
            if not self._registration_failed:
                self._emit(
                    Incident(
                        kind=IncidentKind.SOURCE_DOWN,
                        at=datetime.now(UTC),
                        detail=f"SIP registration at {self.config.registrar}: {event.detail}",
                    )
                )
            self._registration_failed = True
        elif event.state == "registered":
            log.info("SIP line registered at %s for %d s", self.config.registrar, event.expires)
            self._registration_failed = False

    async def _registration_config(self) -> RegistrationConfig:
        c, uri = self.config, self.config.registrar_uri()
        domain = c.domain or uri.host  # the address-of-record keeps the name
        uri = await self._net.resolve(uri)
        return RegistrationConfig(
            uri, c.user, c.password, c.auth_user, domain, c.expiry, c.register_retry
        )

    # ---- calls --------------------------------------------------------------------
    async def _run_call(self, call: LiveCall) -> None:
        agent, loop = self._agent, asyncio.get_running_loop()
        assert agent is not None and self._notice is not None
        try:
            media = MediaSession(self._notice, call_id=call.call_id)
            await open_media(media, self.config.host, self.config.rtp_port_range)
            call.media = media
            call.our_sdp = self._our_sdp(call, call.offer)
            call.awaiting_answer = call.offer is None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.done.wait(), self.config.ring_seconds)
            if call.ended_clock is None:
                await self._answer(call, media)
            await call.done.wait()
        except OSError as exc:  # no RTP port, recordings directory unwritable
            log.error("cannot take call %s: %s", call.call_id, exc, extra={"call_id": call.call_id})
            agent.reject(call.call_id, 503, "Service Unavailable", loop.time())
            self._process()
            self._emit(
                Incident(
                    kind=IncidentKind.UNRECORDED,
                    at=datetime.now(UTC),
                    call_id=call.key,
                    detail=f"SIP call refused: cannot record ({exc})",
                )
            )
            call.end(f"refused: cannot record ({exc})", loop.time())
        finally:
            await self._finish(call)

    async def _answer(self, call: LiveCall, media: MediaSession) -> None:
        agent, now = self._agent, self._now()
        assert agent is not None and call.our_sdp is not None
        call.answered_at = datetime.now(UTC)
        path = recording_name(self.config.recordings_dir, call, call.answered_at)
        claim = Claim(call.key, call.caller, call.callee, call.answered_at.isoformat())
        claim_path = write_claim(path, claim)  # these raise OSError before we answer
        try:
            recorder = CallRecorder(path, disk=self._disk)
        except OSError:
            drop_claim(claim_path)
            raise
        self._claims.hold(call.key, claim_path)
        call.state, call.answered_clock = "answered", now
        media.start(now, recorder)
        if call.negotiated is not None:
            self._apply(call, call.negotiated)
        agent.answer(call.call_id, bytes(call.our_sdp), now)
        self._process()
        self._playing.add(call)
        self._emit(CallAnswered(call_id=call.key, at=call.answered_at))
        self._emit(RecordingStarted(call_id=call.key, at=call.answered_at, name=str(path)))

    async def _finish(self, call: LiveCall) -> None:
        self._playing.discard(call)
        now = self._now()
        call.end("line error", now)
        answered = call.state == "answered"
        call.state = "ended"
        media = call.media
        ended_at = datetime.now(UTC)
        self._bridge.end(call, "caller hung up")
        if media is not None:
            media.finish()
        if answered and media is not None and media.recorder is not None:
            assert call.ended_clock is not None and call.answered_at is not None
            duration = max(0.0, call.ended_clock - call.answered_clock)
            details = media.details() | {"transport": call.peer.transport, "end_cause": call.cause}
            details |= self._bridge.details(call)
            try:
                path = await asyncio.to_thread(media.recorder.close, round(duration * RATE))
            except OSError as exc:  # its claim stays: the next start tries again
                self._claims.forget(call.key)
                self._emit(
                    Incident(
                        kind=IncidentKind.INCOMPLETE,
                        at=ended_at,
                        call_id=call.key,
                        detail=f"the recording could not be finished: {exc}",
                    )
                )
            else:
                self._emit(
                    RecordingFinished(
                        call_id=call.key,
                        at=ended_at,
                        path=path,
                        started_at=call.answered_at,
                        expected_duration=round(duration, 3),
                        details=details,
                    )
                )
        if self._calls.get(call.call_id) is call:
            # A phone may use the Call-ID again at once (a new INVITE right after its
            # BYE): that call is filed under the same Call-ID and must stay there.
            del self._calls[call.call_id]
        self._emit(CallEnded(call_id=call.key, at=ended_at, answered=answered, cause=call.cause))

    def _hangup(self, call: LiveCall, cause: str) -> None:
        now = self._now()
        if call.end(cause, now) and self._agent is not None:
            self._agent.hangup(call.call_id, now, reason=cause)
            self._process()

    # ---- shared clocks and facts --------------------------------------------------
    async def _media_clock(self) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        while True:
            tick = max(tick + 0.02, loop.time() - 0.02)
            await asyncio.sleep(max(0.0, tick - loop.time()))
            now = loop.time()
            for call in list(self._playing):
                if call.media is None or not call.media.play_due(now):
                    self._playing.discard(call)

    async def _housekeeping(self) -> None:
        config = self.config
        while True:
            await asyncio.sleep(0.25)
            now, agent = self._now(), self._agent
            for call in list(self._calls.values()):
                media = call.media
                if call.state != "answered" or media is None or call.ended_clock is not None:
                    continue
                media.keepalive(now)
                try:
                    media.housekeeping(now)
                except OSError as exc:
                    self._recording_failed(call, exc)
                self._bridge.housekeeping(call, media, now)
                quiet = now - media.last_packet_at
                overdue = agent.session_overdue(call.call_id, now) if agent is not None else None
                if media.receiving and not call.on_hold and quiet > config.rtp_silence_timeout:
                    self._hangup(call, f"no RTP for {config.rtp_silence_timeout:g} s")
                elif overdue is not None:
                    self._hangup(call, f"the caller stopped refreshing its {overdue} s session")
                elif now - call.answered_clock > config.max_call_seconds:
                    self._hangup(call, f"maximum call length {config.max_call_seconds:g} s")

    def _recording_failed(self, call: LiveCall, exc: OSError) -> None:
        log.error(
            "recording of call %s failed: %s", call.call_id, exc, extra={"call_id": call.call_id}
        )
        assert call.media is not None and call.media.recorder is not None
        call.media.recorder.abandon()
        self._emit(
            Incident(
                kind=IncidentKind.INCOMPLETE,
                at=datetime.now(UTC),
                call_id=call.key,
                detail=f"the recording stopped: {exc}",
            )
        )

    def _emit(self, fact: CallFact) -> None:
        self._courier.emit(fact)

    async def _deliver(self) -> None:
        await self._courier.run()

    def _recovered(self, leftover: Leftover) -> None:
        """Report a recording an earlier run left behind (see ``hotline.sip.spool``)."""
        self._recovered_count += 1
        call_id, facts = recovery_facts(leftover, datetime.now(UTC))
        if leftover.claim_path is not None:
            self._claims.hold(call_id, leftover.claim_path)
        for fact in facts:
            self._emit(fact)

    def _start_service(self, service: Callable[[], Coroutine[Any, Any, None]]) -> None:
        name = f"sip-line-{service.__name__.strip('_').replace('_', '-')}"
        task = asyncio.create_task(service(), name=name)
        self._services.append(task)
        task.add_done_callback(lambda done: self._service_done(done, service))

    def _service_done(
        self, task: asyncio.Task[None], service: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        """A shared clock or the fact delivery died: say so loudly, and start it again."""
        self._services.remove(task)
        if task.cancelled() or self._stopped:
            return
        exc = task.exception()
        log.critical("SIP line service %s crashed; restarting it", task.get_name(), exc_info=exc)
        detail = f"the SIP line's {task.get_name()} crashed ({exc!r}) and was restarted"
        self._emit(Incident(kind=IncidentKind.SOURCE_DOWN, at=datetime.now(UTC), detail=detail))
        self._start_service(service)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("SIP line task %s crashed", task.get_name(), exc_info=task.exception())
