"""AMI messages: an ordered multimap of ``Key: value`` headers.

A message is what travels between two blank lines on an AMI connection: an action
(client → Asterisk), a response or an event (Asterisk → client). Headers keep their
order and their repetitions: ``Status`` answers repeat ``Variable:`` once per channel
variable and ``Command`` answers repeat ``Output:`` once per line, so a plain dict
would lose data. Lookups ignore case because Asterisk itself is not consistent: every
channel event says ``Uniqueid:`` while ``Cdr`` says ``UniqueID:`` (Asterisk 22.10.1).

``Message.parse`` takes the bytes of one frame (without its terminating blank line)
and raises ``AMIProtocolError`` when they are not ``Key: value`` lines;
``bytes(message)`` gives the frame back, terminating blank line included. For any
frame that parses, ``bytes(Message.parse(frame)) == frame + b"\\r\\n\\r\\n"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from hotline.errors import AMIProtocolError

__all__ = ["CRLF", "Message"]

CRLF = "\r\n"
_NULL_VALUE = "(null)"


# A header name: no colon, no control character, no space at either end.
_KEY = r"[^\x00-\x20\x7f:](?:[^\x00-\x1f\x7f:]*[^\x00-\x20\x7f:])?"
_LINE = _KEY + r":[^\r\n]*"
_FRAME = re.compile(f"{_LINE}(?:\r\n{_LINE})*")
_KEY_ONLY = re.compile(_KEY)


def _diagnose(text: str, frame: bytes) -> str:
    """Why ``text`` is not a frame (the slow path, for the error message)."""
    if not text:
        return "empty AMI frame"
    for number, line in enumerate(text.split(CRLF), 1):
        key, sep, value = line.partition(":")
        if not sep:
            return (
                f"line {number} of an AMI frame has no ':' separator: "
                f"{line[:60]!r} in {_excerpt(frame)}"
            )
        if _KEY_ONLY.fullmatch(key) is None:
            return (
                f"line {number} of an AMI frame has an invalid header name {key[:40]!r} "
                f"in {_excerpt(frame)}"
            )
        if "\r" in value or "\n" in value:
            return f"line {number} of an AMI frame has a bare line break in {_excerpt(frame)}"
    return f"malformed AMI frame {_excerpt(frame)}"


def _excerpt(frame: bytes, limit: int = 80) -> str:
    text = frame[:limit].decode("utf-8", "replace")
    return repr(text) + ("…" if len(frame) > limit else "")


class Message:
    """One AMI message: headers in wire order, repeated keys kept, case-blind lookup."""

    __slots__ = ("_headers", "_index")

    def __init__(self, headers: Iterable[tuple[str, str]]) -> None:
        self._headers: tuple[tuple[str, str], ...] = tuple(headers)
        self._index: dict[str, str] | None = None

    # -- construction -----------------------------------------------------------------

    @classmethod
    def action(cls, name: str, /, *extra: tuple[str, str], **fields: str) -> Message:
        """An action: ``Action: name`` first, then ``extra`` pairs, then ``fields``.

        Use ``extra`` for repeated keys or keys that are not Python identifiers.
        """
        headers = [("Action", name), *extra, *fields.items()]
        return cls(headers)

    @classmethod
    def parse(cls, frame: bytes) -> Message:
        """Parse one frame (the bytes between two blank lines, CRLF-separated lines)."""
        # Asterisk sends UTF-8 when the dialplan does; a caller name in another
        # encoding must not stop the stream, so undecodable bytes become U+FFFD.
        text = frame.decode("utf-8", "replace")
        if _FRAME.fullmatch(text) is None:
            raise AMIProtocolError(_diagnose(text, frame))
        # "Key: value": exactly one space follows the colon; further spaces belong to
        # the value (RTPAUDIOQOSLOSS values start with spaces).
        return cls(
            [
                (key, value[1:] if value[:1] == " " else value)
                for key, _, value in (line.partition(":") for line in text.split(CRLF))
            ]
        )

    def __bytes__(self) -> bytes:
        parts: list[str] = []
        for key, value in self._headers:
            if "\r" in key or "\n" in key or ":" in key or not key:
                raise ValueError(f"invalid AMI header name {key!r}")
            if "\r" in value or "\n" in value:
                # A value with a line break would smuggle extra headers (or a whole
                # extra action) into the frame.
                raise ValueError(f"AMI header {key!r} has a line break in its value")
            parts.append(f"{key}: {value}\r\n")
        parts.append(CRLF)
        return "".join(parts).encode("utf-8")

    # -- lookups ----------------------------------------------------------------------

    def _build_index(self) -> dict[str, str]:
        # Reversed, so that the first occurrence of a repeated key wins.
        index = {key.lower(): value for key, value in reversed(self._headers)}
        self._index = index
        return index

    def get(self, key: str, default: str | None = None) -> str | None:
        """The first value of ``key`` (any case), or ``default``."""
        index = self._index
        if index is None:
            index = self._build_index()
        return index.get(key.lower(), default)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def getall(self, key: str) -> list[str]:
        """Every value of ``key`` (any case), in wire order."""
        lowered = key.lower()
        return [value for name, value in self._headers if name.lower() == lowered]

    def variables(self) -> dict[str, str]:
        """``Variable: NAME=value`` headers (``Status`` with ``Variables:``) as a dict.

        Asterisk reports an unset variable as ``NAME=(null)``; those are left out.
        """
        result: dict[str, str] = {}
        for value in self.getall("Variable"):
            name, sep, content = value.partition("=")
            if sep and content != _NULL_VALUE:
                result[name] = content
        return result

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        return self._headers

    @property
    def event(self) -> str | None:
        """The event name, for an event (``OriginateResponse`` is an event even though it
        carries a ``Response:`` header)."""
        return self.get("event")

    @property
    def response(self) -> str | None:
        """``Success``, ``Error``, ``Goodbye``…, for a response; ``None`` for an event."""
        if self.get("event") is not None:
            return None
        return self.get("response")

    @property
    def action_name(self) -> str | None:
        return self.get("action")

    @property
    def action_id(self) -> str | None:
        return self.get("actionid")

    def with_header(self, key: str, value: str) -> Message:
        """A copy with ``key`` set to ``value`` (replacing the first occurrence)."""
        lowered = key.lower()
        headers = list(self._headers)
        for position, (name, _) in enumerate(headers):
            if name.lower() == lowered:
                headers[position] = (name, value)
                return Message(headers)
        headers.append((key, value))
        return Message(headers)

    # -- container protocol -----------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return self._headers == other._headers

    def __hash__(self) -> int:
        return hash(self._headers)

    def __repr__(self) -> str:
        kind = self.event or self.response or self.action_name or "?"
        shown = ", ".join(f"{k}={v!r}" for k, v in self._headers[:4])
        more = f", +{len(self._headers) - 4}" if len(self._headers) > 4 else ""
        return f"<Message {kind}: {shown}{more}>"
