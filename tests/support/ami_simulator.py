"""An AMI server on 127.0.0.1 that replays a captured Asterisk 22.10.1 session.

``AMISimulator("answered-call", recordings_dir=tmp, speed=20)`` listens on a free port
and behaves like the lab Asterisk did:

* it greets with the captured banner, checks the login (the captured success or, for a
  wrong secret, the captured ``Authentication failed`` one second later, scaled, then
  closes), answers ``Challenge``/MD5 logins, ``Ping``, ``Logoff`` and unknown actions
  with the captured answers (ActionIDs rewritten to the client's);
* from the first login on, it replays the captured events byte for byte, chunk by chunk,
  at the captured times divided by ``speed``, to every logged-in client. The PBX goes on
  while nobody is connected: events during an outage are lost, as with a real PBX;
* it keeps the channels' state from the replayed events, so ``Status`` (with
  ``Variables:``), ``CoreShowChannels`` and ``Getvar`` answer what Asterisk would have
  answered at that moment (the answers have the captured shape; a test checks them
  against the captured ones), and ``MixMonitor`` starts a recording on a live channel
  (or fails, ``mixmonitor="fail"``);
* it writes the recordings into ``recordings_dir`` as MixMonitor does: the file appears
  at ``MixMonitorStart`` with a zero-size header, grows in real time (scaled), and is
  finalised when the channel hangs up (``close_delay`` later, if asked);
* a series-2 scenario (``project-dialplan/…``) writes the very files Asterisk wrote,
  byte for byte: the mix at ``MixMonitorStart``, the dialplan's ``r()``/``t()`` legs
  (``HOTLINE_REC_CALLER``/``HOTLINE_REC_OPERATOR``) with it, the message at
  ``Record()`` (``RECORDED_FILE``). What the capture client's own ``MixMonitor`` action
  caused is left out of the replay: a client's ``MixMonitor`` action starts it again,
  under the client's file names, with the captured audio;
* ``pbx_monitor`` moves the PBX's recordings directory: the replayed events name it
  instead of ``/var/spool/asterisk/monitor`` (a dialplan whose ``HOTLINE_RECDIR`` is
  another directory);
* ``drop()`` cuts every connection, ``send_raw()`` sends any bytes, ``stop_listening()``
  / ``resume_listening()`` refuse and accept new connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from hotline.ami.message import Message
from hotline.ami.recordings import WavHeader
from tests.support.ami_captures import (
    PBX_MONITOR,
    SECRET,
    USERNAME,
    CapturedFile,
    captured_files,
    pcm,
    rx_messages,
    sample_recording,
    wav_header,
)
from tests.support.ami_simulator_state import PBXState

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
BYTES_PER_SECOND = 16000
# Recording lengths the lab measured (fixtures/ami/README.md); others: event span - 0.32 s.
KNOWN_DURATIONS = {
    "hotline-20261128-001159-1795824714.0.wav": 27.58,
    "hotline-20261128-001353-1795824828.7.wav": 27.58,
    "hotline-20261128-001245-1795824760.3.wav": 4.76,
    "hotline-20261128-001301-1795824776.5.wav": 41.58,
    "hotline-message-1795824776.5.wav": 20.5,
}
SAMPLE_OF = {
    "hotline-20261128-001159-1795824714.0.wav",
    "hotline-20261128-001353-1795824828.7.wav",
}


class _Recorder:
    """One file MixMonitor (or Record) is writing."""

    def __init__(
        self,
        sim: AMISimulator,
        uid: str,
        pbx_path: str,
        started: float,
        captured: CapturedFile | None = None,
    ) -> None:
        self.uid = uid
        self.closed = False
        self.name = PurePosixPath(pbx_path).name
        assert sim.recordings_dir is not None
        self.path = sim.recordings_dir / PurePosixPath(pbx_path).relative_to(sim.pbx_monitor)
        self.started = started
        self.written = 0
        self.target: float | None = sim.durations.get(self.name, KNOWN_DURATIONS.get(self.name))
        pcm = sample_recording()[44:] if self.name in SAMPLE_OF else None
        self.final_header: bytes | None = None
        if captured is not None:
            data = captured.path.read_bytes()
            header = WavHeader.parse(data[:4096])
            assert header is not None and header.data_offset == 44, captured.name
            self.final_header, pcm = data[:44], data[44:]
            self.target = len(pcm) / BYTES_PER_SECOND
        self.pcm = pcm
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(wav_header(None))  # Asterisk: sizes filled in at close

    def audio(self, size: int) -> bytes:
        if self.pcm is not None and self.written + size <= len(self.pcm):
            return self.pcm[self.written : self.written + size]
        return pcm(size)

    def _cap(self) -> int | None:
        """How many bytes of audio the file ends with."""
        if self.final_header is not None and self.pcm is not None:
            return len(self.pcm)
        if self.target is not None:
            return round(self.target * BYTES_PER_SECOND) // 2 * 2
        return None

    def grow(self, now: float, *, to_the_end: bool = False) -> None:
        cap = self._cap()
        limit = int((now - self.started) * BYTES_PER_SECOND) // 2 * 2
        if cap is not None:
            limit = cap if to_the_end else min(limit, cap)
        size = limit - self.written
        if size > 0:
            with self.path.open("ab") as handle:
                handle.write(self.audio(size))
            self.written += size

    def close(self, now: float) -> None:
        if self.target is None:
            self.target = max(now - self.started - 0.32, 0.0)
        self.grow(self.started + self.target, to_the_end=True)
        whole = self.pcm is not None and self.written == len(self.pcm)
        header = self.final_header if whole and self.final_header else wav_header(self.written)
        with self.path.open("r+b") as handle:
            handle.write(header)
        self.closed = True


class _Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.logged_in = False
        self.challenge = ""

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)


class AMISimulator:
    """See the module docstring."""

    def __init__(
        self,
        scenario: str,
        *,
        recordings_dir: Path | None = None,
        speed: float = 20.0,
        username: str = USERNAME,
        secret: str = SECRET,
        durations: dict[str, float] | None = None,
        close_delay: float = 0.0,
        mixmonitor: str = "succeed",
        mixmonitor_events_first: bool = True,
        silent: frozenset[str] = frozenset(),
        pbx_monitor: str = PBX_MONITOR,
    ) -> None:
        self.scenario = scenario
        self.recordings_dir = recordings_dir
        self.speed = speed
        self.username, self.secret = username, secret
        self.durations = durations or {}
        self.close_delay = close_delay
        self.mixmonitor = mixmonitor
        self.mixmonitor_events_first = mixmonitor_events_first
        self.silent = silent
        """Actions (lower-case names) left unanswered, as a hung Asterisk would."""
        self.pbx_monitor = pbx_monitor
        self.state = PBXState()
        self.actions: list[Message] = []
        """Every action a client sent, in order."""
        self.logins = 0
        self.connections = 0
        self.hangups: list[float] = []
        """Loop time at which each replayed ``Hangup`` was written to the clients."""
        self._started = asyncio.Event()
        self.done = asyncio.Event()
        """Set when the whole captured session has been replayed."""
        self._clients: set[_Client] = set()
        self._recorders: dict[str, _Recorder] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._replay: asyncio.Task[None] | None = None
        self._t0: float | None = None  # loop time of virtual time 0
        self.port = 0
        self.captured = captured_files(scenario)
        """Series 2: the files Asterisk wrote, by name."""
        self._chunks = self._event_chunks()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        await self.resume_listening()

    async def stop(self) -> None:
        await self.stop_listening()
        self.drop()
        tasks = [t for t in (self._replay, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> AMISimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def resume_listening(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, secret: str | None = None, *, auth: str | None = None) -> str:
        query = f"?auth={auth}" if auth else ""
        return f"ami://{self.username}:{secret or self.secret}@127.0.0.1:{self.port}{query}"

    # -- control ----------------------------------------------------------------------

    def now(self) -> float:
        """Virtual time: seconds since the capture's connect, scaled."""
        if self._t0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._t0) * self.speed

    async def wait_until(self, t: float) -> None:
        """Return at virtual time ``t`` (the replay starts at the first login)."""
        await self._started.wait()
        await asyncio.sleep(max(t - self.now(), 0.0) / self.speed)

    def drop(self) -> None:
        for client in list(self._clients):
            client.writer.transport.abort()
        self._clients.clear()

    def send_raw(self, data: bytes) -> None:
        for client in self._clients:
            if client.logged_in:
                client.write(data)

    # -- the replay -------------------------------------------------------------------

    def _by_lab_action(self, message: Message, started: set[str]) -> bool:
        """An event that the capture client's own ``MixMonitor`` action caused."""
        uid = message.get("uniqueid") or ""
        if message.event == "VarSet" and message.get("variable") == "MIXMONITOR_FILENAME":
            captured = self.captured.get(PurePosixPath(message.get("value") or "").name)
            if captured is not None and captured.by_lab_action:
                started.add(uid)
                return True
        if message.event == "MixMonitorStart" and uid in started:
            started.discard(uid)
            return True
        return False

    def _event_chunks(self) -> list[tuple[float, list[Message]]]:
        chunks: list[tuple[float, list[Message]]] = []
        lab: set[str] = set()
        for t, message in rx_messages(self.scenario):
            if message.action_id is not None or self._by_lab_action(message, lab):
                continue
            if self.pbx_monitor != PBX_MONITOR:
                message = _moved(message, self.pbx_monitor)
            if chunks and chunks[-1][0] == t:
                chunks[-1][1].append(message)
            else:
                chunks.append((t, [message]))
        return chunks

    async def _run_replay(self) -> None:
        loop = asyncio.get_running_loop()
        for t, messages in self._chunks:
            await asyncio.sleep(max(t / self.speed - (loop.time() - (self._t0 or 0.0)), 0.0))
            closing = [m for m in messages if self._ends_recording(m)]
            if closing and self.close_delay:
                self._publish(t, messages)
                await asyncio.sleep(self.close_delay / self.speed)
                self._close_recordings(closing, t + self.close_delay)
                continue
            self._close_recordings(closing, t)
            self._publish(t, messages)
        self.done.set()

    def _publish(self, t: float, messages: list[Message]) -> None:
        for message in messages:
            self.state.apply(message, t)
            self._start_recordings(message, t)
        data = b"".join(bytes(m) for m in messages)
        for client in self._clients:
            if client.logged_in:
                client.write(data)
        if any(m.event == "Hangup" for m in messages):
            self.hangups.append(asyncio.get_running_loop().time())

    def _ends_recording(self, message: Message) -> bool:
        return message.event in ("Hangup", "MixMonitorStop")

    def _start_recordings(self, message: Message, t: float) -> None:
        if self.recordings_dir is None:
            return
        uid = message.get("uniqueid") or ""
        if message.event == "MixMonitorStart":
            path = self.state.variable(uid, "MIXMONITOR_FILENAME")
            if path:
                self._record(uid, path, t)
                # The project dialplan's r()/t() files, when the capture has them.
                for leg in ("HOTLINE_REC_CALLER", "HOTLINE_REC_OPERATOR"):
                    named = self.state.variable(uid, leg)
                    if PurePosixPath(named).name in self.captured:
                        self._record(uid, named, t)
        elif message.event == "Newexten" and message.get("application") == "Record":
            self._record(uid, (message.get("appdata") or "").split(",")[0], t)
        elif message.event == "VarSet" and message.get("variable") == "RECORDED_FILE":
            named = f"{message.get('value') or ''}.wav"  # Record() names it without one
            if PurePosixPath(named).name in self.captured:
                self._record(uid, named, t)

    def _record(
        self, uid: str, pbx_path: str, t: float, captured: CapturedFile | None = None
    ) -> None:
        if pbx_path and pbx_path not in self._recorders:
            found = captured or self.captured.get(PurePosixPath(pbx_path).name)
            recorder = _Recorder(self, uid, pbx_path, t, found)
            self._recorders[pbx_path] = recorder
            self._spawn(self._grow(recorder))

    async def _grow(self, recorder: _Recorder) -> None:
        while not recorder.closed:
            recorder.grow(self.now())
            await asyncio.sleep(0.02)

    def _close_recordings(self, messages: list[Message], t: float) -> None:
        for message in messages:
            uid = message.get("uniqueid")
            for key, recorder in list(self._recorders.items()):
                if recorder.uid == uid:
                    recorder.close(t)
                    del self._recorders[key]

    # -- the server -------------------------------------------------------------------

    def _spawn(self, work: object) -> None:
        task = asyncio.create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        client = _Client(writer)
        self._clients.add(client)
        writer.write(BANNER)
        buffer = b""
        try:
            while data := await reader.read(65536):
                buffer += data
                while b"\r\n\r\n" in buffer:
                    frame, buffer = buffer.split(b"\r\n\r\n", 1)
                    if frame.strip():
                        await self._handle(client, Message.parse(frame))
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(client)
            writer.close()

    async def _handle(self, client: _Client, action: Message) -> None:
        self.actions.append(action)
        name = (action.action_name or "").lower()
        action_id = action.action_id or ""
        reply: Callable[..., bytes] = _reply
        if name in self.silent:
            return
        if name == "login":
            await self._login(client, action, action_id)
        elif name == "challenge":
            client.challenge = "840108231"
            client.write(reply(action_id, Challenge=client.challenge))
        elif not client.logged_in:
            client.write(reply(action_id, "Error", Message="Permission denied"))
        elif name == "ping":
            stamp = f"{1795824713.0 + self.now():.6f}"
            client.write(reply(action_id, Ping="Pong", Timestamp=stamp))
        elif name == "logoff":
            client.write(reply(action_id, "Goodbye", Message="Thanks for all the fish."))
            client.writer.close()
        elif name in ("status", "coreshowchannels"):
            client.write(self.state.list_reply(name, action, action_id, self.now()))
        elif name == "getvar":
            client.write(self.state.getvar_reply(action, action_id))
        elif name == "mixmonitor":
            self._mixmonitor(client, action, action_id)
        else:
            text = (
                f"Invalid/unknown command: {action.action_name}. "
                "Use Action: ListCommands to show available commands."
            )
            client.write(reply(action_id, "Error", Message=text))

    async def _login(self, client: _Client, action: Message, action_id: str) -> None:
        self.logins += 1
        if action.get("authtype", "").lower() == "md5":
            expected = hashlib.md5((client.challenge + self.secret).encode()).hexdigest()
            good = action.get("key") == expected
        else:
            good = action.get("secret") == self.secret
        good = good and action.get("username") == self.username
        if not good or self.scenario == "failed-login":
            await asyncio.sleep(1.0 / self.speed)  # Asterisk delays a failed login
            client.write(_reply(action_id, "Error", Message="Authentication failed"))
            client.writer.close()
            return
        client.logged_in = True
        client.write(_reply(action_id, Message="Authentication accepted"))
        if self._replay is not None and self._chunks:
            # Asterisk greets every login with FullyBooted (and a SuccessfulAuth
            # security event): the captured ones, replayed to this client only.
            client.write(b"".join(bytes(m) for m in self._chunks[0][1]))
        if self._replay is None:
            self._t0 = asyncio.get_running_loop().time()
            self._started.set()
            self._replay = asyncio.create_task(self._run_replay())

    def _mixmonitor(self, client: _Client, action: Message, action_id: str) -> None:
        channel = self.state.by_name(action.get("channel") or "")
        if channel is None:
            client.write(_reply(action_id, "Error", Message="No such channel"))
            return
        if self.mixmonitor == "fail":
            client.write(_reply(action_id, "Error", Message="Could not start monitoring channel"))
            return
        now = self.now()
        path = action.get("file") or ""
        events = self.state.mixmonitor_events(channel, path)
        answer = _reply(action_id, MixMonitorID="0x7f62a0001234")
        data = b"".join(bytes(e) for e in events)
        client.write(data + answer if self.mixmonitor_events_first else answer + data)
        for other in self._clients:
            if other is not client and other.logged_in:
                other.write(data)
        for event in events:
            self.state.apply(event, now)
        options = action.get("options") or ""
        for role, leg in (("File", path), *_option_files(options)):
            if self.recordings_dir is not None:
                self._record(channel, leg, now, self._lab_recording(role))

    def _lab_recording(self, role: str) -> CapturedFile | None:
        """What the capture client's ``MixMonitor`` action recorded as ``role``
        (``File``, ``r()`` or ``t()``): the audio a client's own action gets."""
        for captured in self.captured.values():
            if any(
                a.startswith("our MixMonitor action") and f" {role}" in a
                for a in captured.announced_by
            ):
                return captured
        return None


def _moved(message: Message, monitor: str) -> Message:
    """``message`` with the recordings directory it names moved to ``monitor``."""
    return Message([(key, value.replace(PBX_MONITOR, monitor)) for key, value in message.headers])


def _option_files(options: str) -> list[tuple[str, str]]:
    files = []
    for flag in ("r(", "t("):
        start = options.find(flag)
        if start >= 0:
            end = options.find(")", start)
            files.append((f"{flag})", options[start + 2 : end]))
    return files


def _reply(action_id: str, response: str = "Success", **fields: str) -> bytes:
    return bytes(Message([("Response", response), ("ActionID", action_id), *fields.items()]))
