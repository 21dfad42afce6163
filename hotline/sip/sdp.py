"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for G.711 telephone audio.

We accept one audio stream of PCMU or PCMA, plus RFC 4733 telephone-event for DTMF,
and answer in the offerer's codec preference. ``c=0.0.0.0`` (RFC 2543 hold) and the
``sendonly``/``recvonly``/``inactive`` attributes are understood as holds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from hotline.errors import SIPProtocolError

STATIC = {0: "PCMU", 8: "PCMA"}
CODECS = ("PCMU", "PCMA")
_REVERSE = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
_DIRECTIONS = set(_REVERSE)


@dataclass(frozen=True, slots=True)
class Media:
    kind: str
    port: int
    protocol: str
    formats: tuple[str, ...]
    connection: str | None = None
    rtpmap: dict[int, str] = field(default_factory=dict)
    """payload type → ``ENCODING/RATE`` (upper-cased encoding)."""
    fmtp: dict[int, str] = field(default_factory=dict)
    direction: str | None = None
    ptime: int | None = None

    def encoding(self, payload_type: int) -> str:
        mapped = self.rtpmap.get(payload_type)
        if mapped is not None:
            return mapped.split("/", 1)[0]
        return STATIC.get(payload_type, "")

    def clock_rate(self, payload_type: int) -> int:
        mapped = self.rtpmap.get(payload_type, "")
        rate = mapped.split("/")[1] if mapped.count("/") >= 1 else "8000"
        return int(rate) if rate.isdecimal() else 0


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: str
    connection: str | None
    media: tuple[Media, ...]
    direction: str = "sendrecv"
    name: str = "-"

    @classmethod
    def parse(cls, body: bytes) -> SessionDescription:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SIPProtocolError("SDP is not UTF-8", 400, "Bad SDP") from exc
        origin, name, connection, direction = "", "-", None, "sendrecv"
        media: list[Media] = []
        for raw in text.replace("\r\n", "\n").split("\n"):
            line = raw.strip()
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise SIPProtocolError(f"bad SDP line {line[:40]!r}", 400, "Bad SDP")
            kind, value = line[0], line[2:]
            if kind == "m":
                media.append(_parse_media_line(value))
            elif kind == "o":
                origin = value
            elif kind == "s":
                name = value
            elif kind == "c":
                address = _parse_connection(value)
                if media:
                    media[-1] = replace(media[-1], connection=address)
                else:
                    connection = address
            elif kind == "a":
                attr, _, arg = value.partition(":")
                if not media:
                    if attr in _DIRECTIONS:
                        direction = attr
                    continue
                media[-1] = _media_attribute(media[-1], attr, arg)
        if not text.startswith("v=0") or not origin:
            raise SIPProtocolError("SDP without v=0 / o= lines", 400, "Bad SDP")
        return cls(
            origin=origin, connection=connection, media=tuple(media), direction=direction, name=name
        )

    def __bytes__(self) -> bytes:
        lines = ["v=0", f"o={self.origin}", f"s={self.name}"]
        if self.connection:
            lines.append(f"c={_connection_line(self.connection)}")
        lines.append("t=0 0")
        for m in self.media:
            lines.append(f"m={m.kind} {m.port} {m.protocol} {' '.join(m.formats)}")
            if m.connection and m.connection != self.connection:
                lines.append(f"c={_connection_line(m.connection)}")
            lines += [f"a=rtpmap:{pt} {enc}" for pt, enc in m.rtpmap.items()]
            lines += [f"a=fmtp:{pt} {params}" for pt, params in m.fmtp.items()]
            if m.ptime:
                lines.append(f"a=ptime:{m.ptime}")
            if m.direction:
                lines.append(f"a={m.direction}")
        return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True, slots=True)
class Negotiated:
    """What the call's media session needs from an offer/answer exchange."""

    codec: str
    payload_type: int
    event_payload_type: int | None
    remote: tuple[str, int] | None
    """Where to send RTP; ``None`` while the peer asked for no media (hold)."""
    local_direction: str

    @property
    def receiving(self) -> bool:
        return self.local_direction in ("sendrecv", "recvonly")

    @property
    def sending(self) -> bool:
        return self.local_direction in ("sendrecv", "sendonly") and self.remote is not None


def answer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    session_id: int,
    version: int,
    codecs: tuple[str, ...] = CODECS,
) -> tuple[SessionDescription, Negotiated]:
    """Our answer to ``offer``; ``SIPProtocolError`` 488 when no audio stream fits."""
    chosen: tuple[Media, int, str, int | None] | None = None
    answered: list[Media] = []
    for m in offer.media:
        pick = _pick(m, codecs) if chosen is None else None
        if pick is None:
            answered.append(Media(m.kind, 0, m.protocol, m.formats[:1]))
            continue
        payload_type, codec, event_pt = pick
        chosen = (m, payload_type, codec, event_pt)
        direction = _REVERSE[m.direction or offer.direction]
        formats = [str(payload_type)] + ([str(event_pt)] if event_pt is not None else [])
        rtpmap = {payload_type: f"{codec}/8000"}
        fmtp = {}
        if event_pt is not None:
            rtpmap[event_pt] = "telephone-event/8000"
            fmtp[event_pt] = m.fmtp.get(event_pt, "0-16")
        answered.append(
            Media("audio", port, m.protocol, tuple(formats), None, rtpmap, fmtp, direction, 20)
        )
    if chosen is None:
        raise SIPProtocolError("no PCMU or PCMA audio stream offered", 488, "Not Acceptable Here")
    m, payload_type, codec, event_pt = chosen
    ours = SessionDescription(
        origin=f"hotline {session_id} {version} IN {_family(address)} {address}",
        connection=address,
        media=tuple(answered),
        name="hotline",
    )
    remote = _remote(offer, m)
    direction = _REVERSE[m.direction or offer.direction]
    if remote is None and direction == "sendrecv":
        direction = "recvonly"
    return ours, Negotiated(codec, payload_type, event_pt, remote, direction)


def offer(
    *, address: str, port: int, session_id: int, version: int, codecs: tuple[str, ...] = CODECS
) -> SessionDescription:
    """Our offer, for an INVITE that came without one (the answer comes in the ACK)."""
    numbers = {"PCMU": 0, "PCMA": 8}
    formats = (*(str(numbers[c]) for c in codecs), "101")
    rtpmap = {numbers[c]: f"{c}/8000" for c in codecs} | {101: "telephone-event/8000"}
    media = Media("audio", port, "RTP/AVP", formats, None, rtpmap, {101: "0-16"}, "sendrecv", 20)
    return SessionDescription(
        origin=f"hotline {session_id} {version} IN {_family(address)} {address}",
        connection=address,
        media=(media,),
        name="hotline",
    )


def accept_answer(ours: SessionDescription, theirs: SessionDescription) -> Negotiated:
    """The peer's answer to our offer (RFC 3264 §6): one of our codecs, or 488."""
    for m in theirs.media:
        pick = _pick(m, CODECS)
        if pick is not None:
            payload_type, codec, event_pt = pick
            direction = _REVERSE[m.direction or theirs.direction]
            remote = _remote(theirs, m)
            return Negotiated(codec, payload_type, event_pt, remote, direction)
    raise SIPProtocolError("the answer has no PCMU or PCMA stream", 488, "Not Acceptable Here")


def _pick(m: Media, codecs: tuple[str, ...]) -> tuple[int, str, int | None] | None:
    if m.kind != "audio" or m.port == 0 or m.protocol.upper() not in ("RTP/AVP", "RTP/AVPF"):
        return None
    numbers = [int(f) for f in m.formats if f.isdecimal() and int(f) < 128]
    event_pt = next(
        (
            pt
            for pt in numbers
            if m.encoding(pt).lower() == "telephone-event" and m.clock_rate(pt) == 8000
        ),
        None,
    )
    for pt in numbers:
        encoding = m.encoding(pt).upper()
        if encoding in codecs and m.clock_rate(pt) == 8000:
            return pt, encoding, event_pt
    return None


def _remote(sd: SessionDescription, m: Media) -> tuple[str, int] | None:
    address = m.connection or sd.connection
    if address is None or address in ("0.0.0.0", "::") or m.port == 0:
        return None
    return address, m.port


def _parse_media_line(value: str) -> Media:
    parts = value.split()
    if len(parts) < 4 or not parts[1].split("/")[0].isdecimal():
        raise SIPProtocolError(f"bad m= line {value[:40]!r}", 400, "Bad SDP")
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SIPProtocolError(f"bad port in m= line {value[:40]!r}", 400, "Bad SDP")
    return Media(parts[0].lower(), port, parts[2], tuple(parts[3:]))


def _media_attribute(m: Media, attr: str, arg: str) -> Media:
    if attr in _DIRECTIONS:
        return replace(m, direction=attr)
    if attr in ("rtpmap", "fmtp"):
        pt_text, _, rest = arg.partition(" ")
        if not pt_text.isdecimal() or int(pt_text) > 127:
            return m  # not ours to understand: a bad attribute is ignored (RFC 4566 §5.13)
        pt = int(pt_text)
        if attr == "rtpmap":
            encoding, _, rate = rest.strip().partition("/")
            return replace(
                m,
                rtpmap={**m.rtpmap, pt: f"{encoding.upper()}/{rate}" if rate else encoding.upper()},
            )
        return replace(m, fmtp={**m.fmtp, pt: rest.strip()})
    if attr == "ptime" and arg.strip().isdecimal():
        return replace(m, ptime=int(arg.strip()))
    return m


def _parse_connection(value: str) -> str:
    parts = value.split()
    if len(parts) != 3 or parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
        raise SIPProtocolError(f"bad c= line {value[:40]!r}", 400, "Bad SDP")
    address = parts[2].split("/")[0]
    try:
        ipaddress.ip_address(address)
    except ValueError as exc:
        # RFC 4566 allows a host name here; we only send media to addresses.
        raise SIPProtocolError(
            f"c= address is not an IP address: {address[:40]!r}", 488, "Not Acceptable Here"
        ) from exc
    return address


def _family(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def _connection_line(address: str) -> str:
    return f"IN {_family(address)} {address}"
