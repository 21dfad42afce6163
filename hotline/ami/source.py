"""The Asterisk call source: AMI link + call tracker + recording pick-up, one lifecycle.

``AsteriskSource(config, sink)`` connects to the PBX, turns what it reports into the
call facts of ``hotline.calls`` and awaits ``sink(fact)`` for each, in order, from one
delivery task (a slow sink never stalls the AMI reader: Asterisk drops a manager
session that does not read within its ``writetimeout``). ``start()`` returns at once;
``stop()`` is idempotent and waits for its tasks. ``status`` is for ``/api/health``.

The wrapper stays thin: every decision is the tracker's (``hotline.ami.tracker``);
here we only carry its commands out (send an action, watch a file, scan the directory)
and feed the results back, with the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hotline.ami.client import AMIClient, LinkState, LinkStatus
from hotline.ami.config import AMIConfig
from hotline.ami.message import Message
from hotline.ami.model import Output, ScanDirectory, SendAction, TrackerConfig, WatchFile
from hotline.ami.pickup import FileLedger, scan, wait_closed
from hotline.ami.protocol import ActionResult, Item
from hotline.ami.tracker import Tracker
from hotline.calls import CallFact, FactSink, Incident, IncidentKind, RecordingFinished
from hotline.courier import FactCourier

__all__ = ["AsteriskSource", "RecordingsDir", "SourceStatus"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """The Asterisk source as ``/api/health`` shows it."""

    link: LinkStatus
    calls_tracked: int
    channels_tracked: int
    recordings_pending: int
    facts_delivered: int
    facts_queued: int
    facts_lost: int
    last_fact_at: datetime | None
    recordings: RecordingsDir | None = None
    """The shared directory and what could not be taken from it (``None``: pick-up off)."""

    @property
    def state(self) -> LinkState:
        return self.link.state

    @property
    def healthy(self) -> bool:
        return self.link.up and (self.recordings is None or not self.recordings.unmapped)

    def as_dict(self) -> dict[str, Any]:
        link = self.link
        return {
            "state": str(link.state),
            "since": link.since.isoformat(),
            "address": link.address,
            "last_error": link.last_error,
            "banner": link.banner,
            "connects": link.connects,
            "bad_frames": link.bad_frames,
            "retry_in": link.retry_in,
            "calls_tracked": self.calls_tracked,
            "channels_tracked": self.channels_tracked,
            "recordings_pending": self.recordings_pending,
            "facts_delivered": self.facts_delivered,
            "facts_queued": self.facts_queued,
            "facts_lost": self.facts_lost,
            "last_fact_at": self.last_fact_at.isoformat() if self.last_fact_at else None,
            "recordings": None if self.recordings is None else self.recordings.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class RecordingsDir:
    """The shared recordings directory as both sides name it, and the recordings of
    hotline calls that could not be taken from it since the source started."""

    local: str
    pbx: str
    unmapped: int
    """Announced outside ``pbx``: the two sides do not name the directory alike."""
    last_unmapped: str
    missing: int
    """Announced inside it, never appeared here (not the same directory after all?)."""

    @property
    def problem(self) -> str | None:
        if self.unmapped:
            return (
                f"{self.unmapped} recording(s) announced outside {self.pbx}, the directory as "
                f"the PBX names it (latest {self.last_unmapped}): set "
                "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH to the directory Asterisk writes to, "
                f"as Asterisk names it; this host reads it at {self.local} "
                "(HOTLINE_ASTERISK_RECORDINGS)"
            )
        if self.missing:
            return (
                f"{self.missing} recording(s) announced in {self.pbx} never appeared in "
                f"{self.local}: is HOTLINE_ASTERISK_RECORDINGS the directory Asterisk writes to?"
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dir": self.local,
            "pbx_dir": self.pbx,
            "unmapped": self.unmapped,
            "last_unmapped": self.last_unmapped or None,
            "missing": self.missing,
            "problem": self.problem,
        }


class AsteriskSource:
    """Watches one Asterisk over AMI and reports its hotline calls as facts."""

    def __init__(
        self,
        config: AMIConfig,
        sink: FactSink,
        *,
        time_scale: float = 1.0,
    ) -> None:
        """``time_scale`` > 1 runs the tracker's clock faster than the wall clock; it
        exists to replay captured PBX sessions quickly (tests, benchmarks) and must stay
        1 against a real PBX."""
        if time_scale <= 0:
            raise ValueError("time_scale must be > 0")
        self.config = config
        self._sink = sink
        self._scale = time_scale
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self._tracker = Tracker(TrackerConfig.from_ami(config))
        self._client = AMIClient(
            config,
            on_item=self._on_item,
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
        )
        self._ledger = FileLedger(config.seen_ledger) if config.seen_ledger else None
        self._courier = FactCourier(sink, stored=self._remember)
        self._tags: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._delivery: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._armed: float | None = None
        self._running = False

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        if self._ledger is not None:
            await asyncio.to_thread(self._ledger.load)
        self._delivery = asyncio.create_task(self._courier.run(), name="ami-facts")
        self._timer = asyncio.create_task(self._run_timer(), name="ami-timer")
        await self._client.start()

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        await self._client.stop()
        deadline = time.monotonic() + self.config.stop_timeout
        if self._tasks:  # let pick-ups in flight finish within the grace period
            await asyncio.wait(set(self._tasks), timeout=self.config.stop_timeout)
        await _cancel(*self._tasks, self._timer)
        self._tasks.clear()
        remaining = max(deadline - time.monotonic(), 0.0)
        await self._courier.drain(remaining)
        await _cancel(self._delivery)
        self._delivery = self._timer = None

    async def __aenter__(self) -> AsteriskSource:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def status(self) -> SourceStatus:
        tracker = self._tracker
        config = self.config
        recordings = None
        if config.recordings_dir is not None:
            recordings = RecordingsDir(
                local=str(config.recordings_dir),
                pbx=str(config.pbx_recordings_dir),
                unmapped=tracker.unmapped,
                last_unmapped=tracker.last_unmapped,
                missing=tracker.missing,
            )
        return SourceStatus(
            link=self._client.status,
            calls_tracked=tracker.calls_tracked,
            channels_tracked=tracker.channels_tracked,
            recordings_pending=tracker.files_pending,
            facts_delivered=self._courier.delivered,
            facts_queued=self._courier.queued,
            facts_lost=self._courier.lost,
            last_fact_at=self._courier.last_at,
            recordings=recordings,
        )

    # -- from the link ----------------------------------------------------------------

    def _now(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0) * self._scale

    def _on_item(self, item: Item) -> None:
        now = self._now()
        if isinstance(item, ActionResult):
            tag = self._tags.pop(item.action_id, None)
            if tag is not None:
                self._apply(self._tracker.action_result(tag, item, now))
        elif isinstance(item, Message):
            self._apply(self._tracker.event(item, now))

    def _on_connected(self) -> None:
        self._apply(self._tracker.connected(self._now()))

    def _on_disconnected(self, reason: str, final: bool) -> None:
        now = self._now()
        self._apply(self._tracker.disconnected(now))
        what = "refused our login" if final else "is unreachable"
        detail = f"Asterisk at {self.config.address} {what}: {reason}"
        at = datetime.fromtimestamp(now, UTC)
        self._apply([Incident(kind=IncidentKind.SOURCE_DOWN, at=at, detail=detail)])

    # -- carrying out the tracker's commands ------------------------------------------

    def _apply(self, outputs: Iterable[Output]) -> None:
        for output in outputs:
            if isinstance(output, SendAction):
                self._send(output)
            elif isinstance(output, WatchFile):
                self._spawn(self._pickup(output), f"ami-pickup {output.path.name}")
            elif isinstance(output, ScanDirectory):
                self._spawn(self._scan(), "ami-scan")
            else:
                self._log_fact(output)
                self._courier.emit(output)
        deadline = self._tracker.next_deadline()
        if deadline is not None and (self._armed is None or deadline < self._armed):
            self._wake.set()

    def _log_fact(self, fact: CallFact) -> None:
        extra = {"call_id": getattr(fact, "call_id", None)}
        if isinstance(fact, Incident):
            log.warning("%s: %s", fact.kind, fact.detail, extra=extra)
        elif isinstance(fact, RecordingFinished):
            log.info("recording %s closed (%s)", fact.path, fact.leg, extra=extra)
        else:
            log.debug("%r", fact, extra=extra)

    def _send(self, command: SendAction) -> None:
        action_id = f"src-{next(self._ids)}"
        self._tags[action_id] = command.tag
        future = self._client.send(command.action.with_header("ActionID", action_id))

        def failed(done: asyncio.Future[ActionResult]) -> None:
            if done.cancelled() or done.exception() is None:
                return
            if self._tags.pop(action_id, None) is not None:
                reason = str(done.exception())
                self._apply(self._tracker.action_failed(command.tag, reason, self._now()))

        future.add_done_callback(failed)

    def _spawn(self, work: Any, name: str) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def _pickup(self, watch: WatchFile) -> None:
        config = self.config
        report = await wait_closed(
            watch.path,
            poll=config.file_poll_interval,
            stable_for=config.file_stable_for,
            give_up_after=config.file_close_timeout,
        )
        now = self._now()
        if report is None:
            reason = f"{watch.path} did not appear within {config.file_close_timeout:g} s"
            self._apply(self._tracker.file_missing(watch.key, reason, now))
        else:
            self._apply(self._tracker.file_closed(watch.key, report, now))

    async def _scan(self) -> None:
        config = self.config
        found = []
        if config.recordings_dir is not None:
            try:
                found = await asyncio.to_thread(
                    scan,
                    config.recordings_dir,
                    config.recording_glob,
                    now=time.time(),
                    min_age=config.orphan_min_age,
                    max_age=config.orphan_max_age,
                )
            except OSError as exc:
                log.error("cannot scan %s for recordings: %s", config.recordings_dir, exc)
            if self._ledger is not None:
                found = [f for f in found if not self._ledger.seen(f.name, f.size)]
        self._apply(self._tracker.scan_result(found, self._now()))

    async def _run_timer(self) -> None:
        while True:
            deadline = self._tracker.next_deadline()
            self._armed = deadline
            self._wake.clear()
            wait = None if deadline is None else max(deadline - self._now(), 0.0) / self._scale
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            try:
                self._apply(self._tracker.tick(self._now()))
            except Exception:
                log.exception("call tracker timer failed; going on")

    # -- to the sink ------------------------------------------------------------------

    async def _remember(self, fact: CallFact) -> None:
        """Note a recording the store took, so the orphan scan passes it by."""
        if not isinstance(fact, RecordingFinished) or self._ledger is None:
            return
        assert self.config.recordings_dir is not None
        try:
            name = fact.path.relative_to(self.config.recordings_dir).as_posix()
            size = int(fact.details.get("file_bytes", "-1"))
            await asyncio.to_thread(self._ledger.add, name, size)
        except (ValueError, OSError) as exc:
            log.warning("cannot note %s as handed over: %s", fact.path, exc)


async def _cancel(*tasks: asyncio.Task[None] | None) -> None:
    pending = [t for t in tasks if t is not None and not t.done()]
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task
