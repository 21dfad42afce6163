"""The asyncio AMI client: a thin wrapper around ``AMIConnection``.

One task owns the link: connect (bounded), log in (plain secret, or MD5 over a
``Challenge``), read and feed the core, keep the link alive with ``Ping``, and on any
loss reconnect after a jittered, growing delay. A refused login is final: Asterisk
closes the connection after ``Authentication failed`` (Asterisk 22.10.1 capture), and
retrying a wrong secret in a loop only fills its security log, so the client stops
and reports ``login failed`` until it is restarted with new settings.

Everything the core yields (events, completed actions) goes to ``on_item`` in wire
order, from the reader task; a malformed frame is counted and logged, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from hotline.ami.config import AMIConfig
from hotline.ami.message import Message
from hotline.ami.protocol import (
    ActionResult,
    AMIConnection,
    Banner,
    ConnectionClosed,
    Item,
    NeedData,
)
from hotline.errors import AMILoginError, AMIProtocolError, PBXError

__all__ = ["AMIClient", "LinkState", "LinkStatus"]

log = logging.getLogger(__name__)

_READ_SIZE = 65536
_LOGGED_BAD_FRAMES = 10
_T = TypeVar("_T")


class LinkState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    LOGGING_IN = "logging in"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    LOGIN_FAILED = "login failed"


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The link as ``/api/health`` shows it."""

    state: LinkState
    since: datetime
    address: str
    last_error: str = ""
    banner: str = ""
    connects: int = 0
    """Successful logins since start."""
    bad_frames: int = 0
    retry_in: float | None = None
    """Seconds until the next connection attempt, while reconnecting."""

    @property
    def up(self) -> bool:
        return self.state is LinkState.CONNECTED


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, PBXError) else f"{type(exc).__name__}: {text}"


class AMIClient:
    """Keeps one logged-in AMI session open to one Asterisk."""

    def __init__(
        self,
        config: AMIConfig,
        *,
        on_item: Callable[[Item], None],
        on_connected: Callable[[], None] | None = None,
        on_disconnected: Callable[[str, bool], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """``on_disconnected(reason, final)`` is called once per outage: when a link
        that was up is lost, when the first attempt fails, and (``final``) when the
        login is refused."""
        self.config = config
        self._on_item = on_item
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._rng = rng or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._conn: AMIConnection | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiters: dict[str, asyncio.Future[ActionResult]] = {}
        self._status = LinkStatus(LinkState.STOPPED, datetime.now(UTC), config.address)
        self._logged_in = False
        self._outage_reported = False
        self._bad_frames = 0
        self._connects = 0
        self._drop_reason = ""
        self._stopping = False

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._outage_reported = False
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name=f"ami-link {self.config.address}")

    async def stop(self) -> None:
        """Log off if logged in, close the link and wait for the link task."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._logged_in:
            with contextlib.suppress(PBXError, TimeoutError):
                await self.action(Message.action("Logoff"), within=1.0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self._set(LinkState.STOPPED)

    @property
    def status(self) -> LinkStatus:
        return self._status

    # -- actions ----------------------------------------------------------------------

    def send(
        self, action: Message, *, timeout: float | None = None
    ) -> asyncio.Future[ActionResult]:
        """Send ``action`` now; the future gets its ``ActionResult`` or a ``PBXError``
        (not connected, link lost, no answer within ``timeout``)."""
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
        conn, writer = self._conn, self._writer
        if conn is None or writer is None or writer.is_closing():
            future.set_exception(PBXError("not connected to Asterisk"))
            return future
        try:
            action_id, data = conn.send(action)
        except ValueError as exc:
            future.set_exception(PBXError(f"cannot send AMI action: {exc}"))
            return future
        writer.write(data)
        self._waiters[action_id] = future
        limit = self.config.action_timeout if timeout is None else timeout
        name = action.action_name
        handle = asyncio.get_running_loop().call_later(
            limit, self._expire, conn, action_id, f"no answer to {name} within {limit:g} s"
        )
        future.add_done_callback(lambda _: handle.cancel())
        return future

    async def action(self, action: Message, *, within: float | None = None) -> ActionResult:
        """Send ``action`` and wait for its answer (``within`` defaults to the configured
        action timeout)."""
        return await self.send(action, timeout=within)

    def _expire(self, conn: AMIConnection, action_id: str, reason: str) -> None:
        conn.forget(action_id)
        future = self._waiters.pop(action_id, None)
        if future is not None and not future.done():
            future.set_exception(PBXError(reason))

    # -- the link task ----------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while True:
            self._set(LinkState.CONNECTING if attempt == 0 else LinkState.RECONNECTING)
            self._drop_reason = ""
            try:
                await self._session()
                reason = "Asterisk closed the connection"
            except AMILoginError as exc:
                self._teardown()
                self._set(LinkState.LOGIN_FAILED, str(exc))
                log.error("AMI login refused, not retrying: %s", exc)
                self._notify_down(str(exc), True)
                return
            except (OSError, TimeoutError, PBXError, ssl.SSLError) as exc:
                reason = _describe(exc)
            reason = self._drop_reason or reason
            if self._stopping:  # our own Logoff closed it
                self._teardown()
                return
            if self._logged_in:
                attempt = 0
            self._teardown()
            self._report_outage(reason)
            delay = self._backoff(attempt)
            attempt += 1
            log.warning(
                "AMI link to %s down (%s); retrying in %.2f s", self.config.address, reason, delay
            )
            self._set(LinkState.RECONNECTING, reason, retry_in=delay)
            await asyncio.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.reconnect_max, self.config.reconnect_min * 2.0 ** min(attempt, 30))
        return cap / 2 + self._rng.uniform(0, cap / 2)

    async def _session(self) -> None:
        config = self.config
        context = ssl.create_default_context() if config.tls else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(config.host, config.port, ssl=context),
            config.connect_timeout,
        )
        conn = AMIConnection(
            id_prefix=f"hotline-{self._connects + 1}-", max_frame_size=config.max_frame_size
        )
        self._conn, self._writer = conn, writer
        self._set(LinkState.LOGGING_IN)
        reading = asyncio.create_task(self._read(reader, conn), name="ami-reader")
        try:
            await self._while_reading(self._login(), reading)
            self._logged_in = True
            self._outage_reported = False
            self._connects += 1
            self._set(LinkState.CONNECTED)
            log.info("AMI link to %s up (%s)", config.address, self._status.banner or "no banner")
            if self._on_connected is not None:
                try:
                    self._on_connected()
                except Exception:
                    log.exception("AMI on_connected handler failed")
            keepalive = asyncio.create_task(self._keepalive(), name="ami-keepalive")
            try:
                await reading
            finally:
                keepalive.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keepalive
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError, PBXError, OSError):
                await reading
            writer.close()

    async def _while_reading(self, work: Awaitable[_T], reading: asyncio.Task[None]) -> _T:
        """Await ``work`` unless the reader ends first (the link dropped)."""
        task = asyncio.ensure_future(work)
        await asyncio.wait({task, reading}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            # The reader may have resolved the answer (Asterisk sends "Authentication
            # failed" and closes at once) before ``work`` resumed: let it finish, with
            # every unanswered action failed.
            self._fail_waiters("connection to Asterisk lost before the answer")
        return await task

    async def _login(self) -> None:
        config = self.config
        if config.auth == "md5":
            challenge = await self.action(Message.action("Challenge", AuthType="MD5"))
            if not challenge.ok:
                raise AMILoginError(f"Asterisk refused the MD5 challenge: {challenge.message}")
            salt = challenge.response.get("challenge") or ""
            key = hashlib.md5((salt + config.secret).encode(), usedforsecurity=False).hexdigest()
            login = Message.action("Login", AuthType="MD5", Username=config.username, Key=key)
        else:
            login = Message.action("Login", Username=config.username, Secret=config.secret)
        result = await self.action(login)
        if not result.ok:
            raise AMILoginError(
                f"Asterisk at {config.host}:{config.port} refused AMI user {config.username!r}: "
                f"{result.message or result.response.get('response') or 'no reason given'}. "
                "Check the secret in HOTLINE_AMI_URL and the user's section (secret, permit) "
                "in manager.conf; hotline does not retry a refused login."
            )

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.config.ping_interval)
            try:
                await self.action(Message.action("Ping"))
            except PBXError as exc:
                log.warning("AMI keepalive failed (%s); dropping the link", exc)
                self._drop_reason = f"keepalive: {exc}"
                if self._writer is not None:
                    self._writer.transport.abort()
                return

    async def _read(self, reader: asyncio.StreamReader, conn: AMIConnection) -> None:
        while True:
            try:
                data = await reader.read(_READ_SIZE)
            except (ConnectionError, OSError) as exc:
                raise PBXError(f"connection to Asterisk lost: {_describe(exc)}") from None
            conn.receive_data(data)
            while True:
                try:
                    item = conn.next_item()
                except AMIProtocolError as exc:
                    self._bad_frame(exc)
                    continue
                if isinstance(item, NeedData):
                    break
                if isinstance(item, ConnectionClosed):
                    raise PBXError("Asterisk closed the connection")
                if isinstance(item, Banner):
                    self._set(self._status.state, banner=item.line)
                    continue
                if isinstance(item, ActionResult):
                    future = self._waiters.pop(item.action_id, None)
                    if future is not None and not future.done():
                        future.set_result(item)
                self._deliver(item)

    def _deliver(self, item: Item) -> None:
        try:
            self._on_item(item)
        except Exception:
            log.exception("AMI item handler failed on %r; going on with the next", item)

    def _bad_frame(self, exc: AMIProtocolError) -> None:
        self._bad_frames += 1
        count = self._bad_frames
        if count <= _LOGGED_BAD_FRAMES or count % 1000 == 0:
            log.warning("malformed AMI frame skipped (%d so far): %s", count, exc)
        self._set(self._status.state)

    def _teardown(self) -> None:
        self._logged_in = False
        self._conn, self._writer = None, None
        self._fail_waiters("connection to Asterisk lost before the answer")

    def _fail_waiters(self, reason: str) -> None:
        waiters, self._waiters = self._waiters, {}
        for future in waiters.values():
            if not future.done():
                future.set_exception(PBXError(reason))

    def _report_outage(self, reason: str) -> None:
        if not self._outage_reported:
            self._outage_reported = True
            self._notify_down(reason, False)

    def _notify_down(self, reason: str, final: bool) -> None:
        if self._on_disconnected is not None:
            try:
                self._on_disconnected(reason, final)
            except Exception:
                log.exception("AMI on_disconnected handler failed")

    def _set(
        self,
        state: LinkState,
        error: str | None = None,
        *,
        banner: str | None = None,
        retry_in: float | None = None,
    ) -> None:
        old = self._status
        self._status = LinkStatus(
            state=state,
            since=old.since if state is old.state else datetime.now(UTC),
            address=old.address,
            last_error=old.last_error if error is None else error,
            banner=old.banner if banner is None else banner,
            connects=self._connects,
            bad_frames=self._bad_frames,
            retry_in=retry_in,
        )
