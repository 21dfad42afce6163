"""The AMI connection as a state machine without I/O.

Feed it the bytes read from the socket (``receive_data``), pull what they meant
(``next_item``), and write what ``send`` returns. It owns three things and nothing else:

* **framing**: the one-line banner (``Asterisk Call Manager/11.0.0``, no blank line
  after it), then messages terminated by a blank line (``\\r\\n\\r\\n``) wherever the
  reads happen to cut them: one read often holds several messages and a long
  ``Command`` answer arrives in several reads (Asterisk 22.10.1 captures);
* **parsing** into ``Message`` (an ordered multimap);
* **correlation** of answers with the actions we sent, by ``ActionID``: a plain
  answer completes its action at once; an answer with ``EventList: start``
  (``CoreShowChannels``, ``Status``) collects the events that carry the same
  ``ActionID`` until the one with ``EventList: Complete``. Unrelated events may
  interleave and are passed through in order.

A malformed frame makes ``next_item`` raise ``AMIProtocolError`` *after* consuming that
frame, so the caller logs it and simply calls ``next_item`` again: one bad frame never
ends the connection. Frames longer than ``max_frame_size`` are reported and skipped up
to the next blank line.

This module never imports asyncio; ``hotline.ami.client`` is the thin asyncio wrapper.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Final, TypeAlias

from hotline.ami.message import Message
from hotline.errors import AMIProtocolError

__all__ = [
    "NEED_DATA",
    "AMIConnection",
    "ActionResult",
    "Banner",
    "ConnectionClosed",
    "Item",
    "NeedData",
]

_TERMINATOR: Final = b"\r\n\r\n"
_EOL: Final = b"\r\n"
_SUCCESS: Final = frozenset({"success", "goodbye", "follows"})
_LIST_DONE: Final = frozenset({"complete", "cancelled"})


class NeedData:
    """Returned by ``next_item`` when it needs more bytes."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line Asterisk sends on connect."""

    line: str

    @property
    def version(self) -> str:
        """``11.0.0`` for ``Asterisk Call Manager/11.0.0``; ``""`` if there is none."""
        _, sep, version = self.line.rpartition("/")
        return version.strip() if sep else ""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The complete answer to one action we sent."""

    action_id: str
    action: str
    """The action's name (``Ping``, ``Status``…)."""
    response: Message
    events: tuple[Message, ...] = ()
    """For list actions: the events between ``EventList: start`` and ``Complete``,
    the completing event included (it carries ``ListItems``)."""

    @property
    def ok(self) -> bool:
        return (self.response.get("response") or "").lower() in _SUCCESS

    @property
    def message(self) -> str:
        return self.response.get("message") or ""

    @property
    def items(self) -> tuple[Message, ...]:
        """List events without the completing one."""
        events = self.events
        if events and (events[-1].get("eventlist") or "").lower() in _LIST_DONE:
            return events[:-1]
        return events


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection; ``pending`` actions will never be answered."""

    pending: tuple[str, ...] = ()


Item: TypeAlias = Banner | Message | ActionResult | ConnectionClosed


@dataclass(slots=True)
class _Pending:
    action: str
    response: Message | None = None
    events: list[Message] = field(default_factory=list)


class AMIConnection:
    """Client side of one AMI connection (one TCP session, one login)."""

    def __init__(self, *, id_prefix: str = "hotline-", max_frame_size: int = 1 << 20) -> None:
        if max_frame_size < 64:
            raise ValueError("max_frame_size must be at least 64 bytes")
        self._prefix = id_prefix
        self._ids = itertools.count(1)
        self._max = max_frame_size
        self._buffer = bytearray()
        self._pos = 0
        self._expect_banner = True
        self._skipping = False
        self._eof = False
        self._closed_reported = False
        self._pending: dict[str, _Pending] = {}
        self.banner: Banner | None = None

    # -- sending ----------------------------------------------------------------------

    def send(self, action: Message) -> tuple[str, bytes]:
        """Register ``action`` as awaiting an answer; return its ActionID and its bytes.

        An ActionID is added when the action has none.
        """
        name = action.action_name
        if not name:
            raise ValueError("an AMI action needs an 'Action' header")
        if self._eof:
            raise ValueError("cannot send on a closed AMI connection")
        action_id = action.action_id
        if action_id is None:
            action_id = f"{self._prefix}{next(self._ids)}"
            action = Message([action.headers[0], ("ActionID", action_id), *action.headers[1:]])
        elif action_id in self._pending:
            raise ValueError(f"ActionID {action_id!r} is already awaiting an answer")
        data = bytes(action)
        self._pending[action_id] = _Pending(name)
        return action_id, data

    def forget(self, action_id: str) -> None:
        """Stop waiting for ``action_id`` (it timed out); a late answer is then passed
        through as a plain message."""
        self._pending.pop(action_id, None)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(self._pending)

    # -- receiving --------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the socket; ``b""`` means the peer closed it."""
        if not data:
            self._eof = True
            return
        if self._eof:
            raise ValueError("data received after end of stream")
        self._buffer += data

    def next_item(self) -> Item | NeedData:
        """The next complete item, or ``NEED_DATA``.

        Raises ``AMIProtocolError`` for a malformed frame; the frame is consumed, so
        calling again continues with the next one.
        """
        while True:
            buffer = self._buffer
            if self._expect_banner:
                banner = self._take_banner()
                if banner is not None:
                    return banner
                if self._expect_banner:
                    return self._need_more()
            pos = self._pos
            # Blank lines between messages carry nothing (some proxies add them).
            while buffer.startswith(_EOL, pos):
                pos += 2
            self._pos = pos
            end = buffer.find(_TERMINATOR, pos)
            if end < 0:
                return self._need_more()
            frame = bytes(buffer[pos:end])
            self._pos = end + 4
            if self._skipping:
                self._skipping = False
                continue
            if end - pos > self._max:
                raise AMIProtocolError(
                    f"AMI frame of {end - pos} bytes exceeds the {self._max}-byte limit"
                )
            message = Message.parse(frame)
            if message.get("event") is None and message.get("response") is None:
                raise AMIProtocolError(f"AMI frame has neither 'Event' nor 'Response': {message!r}")
            item = self._correlate(message)
            if item is not None:
                return item

    def _take_banner(self) -> Banner | None:
        buffer = self._buffer
        end = buffer.find(_EOL, self._pos)
        if end < 0:
            if len(buffer) - self._pos > self._max:
                self._expect_banner = False
            return None
        self._expect_banner = False
        line = bytes(buffer[self._pos : end])
        # The banner is the only line without "Key:"; a peer that starts with a
        # message straight away simply has no banner.
        if b":" in line:
            return None
        self._pos = end + 2
        self.banner = Banner(line.decode("utf-8", "replace"))
        return self.banner

    def _need_more(self) -> Item | NeedData:
        buffer = self._buffer
        rest = len(buffer) - self._pos
        if self._eof:
            if rest and not buffer[self._pos :].strip():
                rest = 0
            if rest:
                frame = bytes(buffer[self._pos :])
                del buffer[:]
                self._pos = 0
                raise AMIProtocolError(
                    f"connection closed inside an AMI message ({len(frame)} bytes unterminated)"
                )
            if not self._closed_reported:
                self._closed_reported = True
                pending = tuple(self._pending)
                self._pending.clear()
                return ConnectionClosed(pending)
            return NEED_DATA
        if rest > self._max and not self._expect_banner:
            # Keep the last three bytes: they may begin the terminator.
            del buffer[: len(buffer) - 3]
            self._pos = 0
            if not self._skipping:
                self._skipping = True
                raise AMIProtocolError(
                    f"AMI frame exceeds the {self._max}-byte limit; skipped to the next blank line"
                )
            return NEED_DATA
        if self._pos:
            del buffer[: self._pos]
            self._pos = 0
        return NEED_DATA

    def _correlate(self, message: Message) -> Item | None:
        action_id = message.get("actionid")
        if action_id is None:
            return message
        pending = self._pending.get(action_id)
        if pending is None:
            # Not ours, or already complete (OriginateResponse after "successfully
            # queued", UserEvent after the UserEvent action): a plain message.
            return message
        if pending.response is None:
            if message.get("event") is not None:
                # An event for an action whose answer has not come yet: Asterisk
                # always answers first, but keep it with the action rather than lose it.
                pending.events.append(message)
                return None
            pending.response = message
            if (message.get("eventlist") or "").lower() == "start":
                return None
            return self._complete(action_id, pending)
        pending.events.append(message)
        if (message.get("eventlist") or "").lower() in _LIST_DONE:
            return self._complete(action_id, pending)
        return None

    def _complete(self, action_id: str, pending: _Pending) -> ActionResult:
        del self._pending[action_id]
        assert pending.response is not None
        return ActionResult(action_id, pending.action, pending.response, tuple(pending.events))
