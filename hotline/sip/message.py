"""SIP messages (RFC 3261 §7): ``parse_message()`` and ``bytes()`` round-trips.

Headers keep their order and repetitions; names are matched case-insensitively and
compact forms (§7.3.3, ``i`` for ``Call-ID``…) are expanded on parse. Anything that
cannot be a SIP message raises ``SIPProtocolError`` carrying the status a UAS would
answer with (400 unless a more precise one applies).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hotline.errors import SIPProtocolError
from hotline.sip.address import Address, CSeq, Via, split_list

MAX_MESSAGE = 65535

_COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "f": "From",
    "t": "To",
    "v": "Via",
    "l": "Content-Length",
    "c": "Content-Type",
    "k": "Supported",
    "s": "Subject",
    "e": "Content-Encoding",
    "o": "Event",
    "x": "Session-Expires",
    "r": "Refer-To",
    "u": "Allow-Events",
    "b": "Referred-By",
}
_KNOWN = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Route",
    "Record-Route",
    "Allow",
    "Supported",
    "Require",
    "Unsupported",
    "User-Agent",
    "Server",
    "Expires",
    "Accept",
    "WWW-Authenticate",
    "Authorization",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Retry-After",
    "Session-Expires",
    "Min-SE",
    "Min-Expires",
    "Warning",
    "Reason",
    "Subject",
    "Event",
    "Allow-Events",
]
_CANONICAL = {name.lower(): name for name in _KNOWN}
_LISTS = {"via", "route", "record-route", "contact", "allow", "supported", "require"}
REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")


def canonical(name: str) -> str:
    lower = name.strip().lower()
    if len(lower) == 1 and lower in _COMPACT:
        return _COMPACT[lower]
    return _CANONICAL.get(lower, name.strip())


@dataclass(slots=True)
class Headers:
    """Ordered header lines; lookups ignore case."""

    items: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)

    def get(self, name: str, default: str | None = None) -> str | None:
        lower = canonical(name).lower()
        for key, value in self.items:
            if key.lower() == lower:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of a header; list headers (Via, Route…) split at their commas."""
        lower = canonical(name).lower()
        values = [value for key, value in self.items if key.lower() == lower]
        if lower in _LISTS:
            return [part for value in values for part in split_list(value)]
        return values

    def add(self, name: str, value: str) -> None:
        self.items.append((canonical(name), value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self.add(name, value)

    def remove(self, name: str) -> None:
        lower = canonical(name).lower()
        self.items = [(k, v) for k, v in self.items if k.lower() != lower]

    def copy(self) -> Headers:
        return Headers(list(self.items))


@dataclass(slots=True)
class Message:
    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self.headers.get("CSeq") or "")

    @property
    def from_(self) -> Address:
        return Address.parse(self.headers.get("From") or "")

    @property
    def to(self) -> Address:
        return Address.parse(self.headers.get("To") or "")

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def top_via(self) -> Via:
        vias = self.headers.get_all("Via")
        if not vias:
            raise SIPProtocolError("no Via header")
        return Via.parse(vias[0])

    @property
    def content_type(self) -> str:
        value = self.headers.get("Content-Type") or ""
        return value.split(";", 1)[0].strip().lower()

    def _serialize(self, start: str) -> bytes:
        lines = [start]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass(slots=True)
class Request(Message):
    method: str = ""
    uri: str = ""
    version: str = "SIP/2.0"

    def __bytes__(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {self.version}")

    def check(self) -> None:
        """RFC 3261 §8.2: the checks a UAS makes before it looks at a request."""
        if self.version != "SIP/2.0":
            raise SIPProtocolError(
                f"SIP version {self.version[:20]!r}", 505, "Version Not Supported"
            )
        for name in REQUIRED:
            if not self.headers.get(name):
                raise SIPProtocolError(f"missing {name} header", 400, f"Missing {name}")
        cseq = self.cseq
        if cseq.method != self.method:
            raise SIPProtocolError("CSeq method differs from the request's", 400, "CSeq Mismatch")
        self.from_, self.to, self.top_via  # noqa: B018 - parse them, raising if malformed
        forwards = self.headers.get("Max-Forwards")
        if forwards is not None:
            if not forwards.strip().isdecimal():
                raise SIPProtocolError("bad Max-Forwards", 400, "Bad Max-Forwards")
            if int(forwards) == 0 and self.method not in ("OPTIONS", "ACK"):
                raise SIPProtocolError("Max-Forwards is 0", 483, "Too Many Hops")
        scheme = self.uri.split(":", 1)[0].lower()
        if scheme not in ("sip", "sips", "tel"):
            raise SIPProtocolError(f"Request-URI scheme {scheme!r}", 416, "Unsupported URI Scheme")


@dataclass(slots=True)
class Response(Message):
    status: int = 0
    reason: str = ""

    def __bytes__(self) -> bytes:
        return self._serialize(f"SIP/2.0 {self.status} {self.reason}")


def parse_message(data: bytes) -> Request | Response:
    """One SIP message from a datagram or a framed stream chunk."""
    if len(data) > MAX_MESSAGE:
        raise SIPProtocolError("message too large", 513, "Message Too Large")
    end = data.find(b"\r\n\r\n")
    separator = 4
    if end < 0:
        end, separator = data.find(b"\n\n"), 2
    if end < 0:
        end, separator = len(data), 0
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SIPProtocolError("header bytes are not UTF-8") from exc
    lines = head.replace("\r\n", "\n").split("\n")
    start, header_lines = lines[0], lines[1:]
    headers = Headers()
    for line in header_lines:
        if line[:1] in (" ", "\t") and headers.items:  # folded continuation (§7.3.1)
            name, value = headers.items[-1]
            headers.items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or any(c in name.strip() for c in " \t"):
            raise SIPProtocolError(f"malformed header line {line[:40]!r}")
        headers.add(name, value.strip())
    body = data[end + separator :]
    length = headers.get("Content-Length")
    if length is not None:
        if not length.strip().isdecimal():
            raise SIPProtocolError("bad Content-Length", 400, "Bad Content-Length")
        if int(length) > len(body):
            raise SIPProtocolError("body shorter than Content-Length", 400, "Truncated Body")
        body = body[: int(length)]
    parts = start.split(" ", 2)
    if start.startswith("SIP/"):
        if (
            len(parts) < 2
            or parts[0] != "SIP/2.0"
            or not parts[1].isdecimal()
            or len(parts[1]) != 3
        ):
            raise SIPProtocolError(f"malformed status line {start[:60]!r}")
        reason = parts[2] if len(parts) > 2 else ""
        return Response(headers=headers, body=body, status=int(parts[1]), reason=reason)
    if len(parts) != 3 or not parts[0].isalpha() or not parts[0].isupper() or not parts[1]:
        raise SIPProtocolError(f"malformed request line {start[:60]!r}")
    if not parts[2].startswith("SIP/"):
        raise SIPProtocolError(f"malformed request line {start[:60]!r}")
    return Request(headers=headers, body=body, method=parts[0], uri=parts[1], version=parts[2])


def response_to(
    request: Request,
    status: int,
    reason: str,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response that copies what §8.2.6.2 says to copy from the request."""
    out = Headers()
    for via in request.headers.get_all("Via"):
        out.add("Via", via)
    out.add("From", request.headers.get("From") or "")
    to = request.headers.get("To") or ""
    if to_tag and status > 100 and ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={to_tag}"
    out.add("To", to)
    out.add("Call-ID", request.call_id)
    out.add("CSeq", request.headers.get("CSeq") or "")
    if request.method == "INVITE" and 100 < status < 300:
        for route in request.headers.get_all("Record-Route"):
            out.add("Record-Route", route)
    for name, value in headers:
        out.add(name, value)
    return Response(headers=out, body=body, status=status, reason=reason)


class StreamFramer:
    """Cuts a TCP byte stream into messages by Content-Length (§18.3)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Messages completed by ``data``; ``SIPProtocolError`` if the stream is unusable."""
        self._buffer += data
        out: list[bytes] = []
        while True:
            # RFC 5626 §4.4.1 keepalives (CRLF) between messages are skipped.
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_MESSAGE:
                    raise SIPProtocolError("header section too large", 513, "Message Too Large")
                return out
            length = 0
            for line in bytes(self._buffer[:end]).split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() in (b"content-length", b"l"):
                    if not value.strip().isdigit():  # bytes: ASCII digits only
                        raise SIPProtocolError("bad Content-Length on a stream")
                    length = int(value.strip())
            total = end + 4 + length
            if total > MAX_MESSAGE:
                raise SIPProtocolError("message too large", 513, "Message Too Large")
            if len(self._buffer) < total:
                return out
            out.append(bytes(self._buffer[:total]))
            del self._buffer[:total]
