"""The structured header values SIP needs: URIs, name-addr (From/To/Contact), Via and
CSeq (RFC 3261 §19.1, §20, §25.1). Each parses strictly enough to reject garbage and
prints back in the same form."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hotline.errors import SIPProtocolError


def split_list(value: str) -> list[str]:
    """Split a comma-separated header value, ignoring commas in quotes and <…>."""
    parts: list[str] = []
    depth, quoted, start = 0, False, 0
    for i, char in enumerate(value):
        if char == '"' and (i == 0 or value[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth = max(0, depth - 1)
        elif not quoted and depth == 0 and char == ",":
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


def parse_params(text: str) -> dict[str, str]:
    """``;a=1;b`` → ``{"a": "1", "b": ""}`` (names lower-cased)."""
    params: dict[str, str] = {}
    for item in text.split(";"):
        name, _, value = item.strip().partition("=")
        if name:
            params[name.strip().lower()] = value.strip().strip('"')
    return params


def format_params(params: dict[str, str]) -> str:
    return "".join(f";{k}={v}" if v else f";{k}" for k, v in params.items())


def split_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise SIPProtocolError(f"bad IPv6 host {text!r}")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not host or any(c in host for c in " <>\"'"):
        raise SIPProtocolError(f"bad host {text!r}")
    if port_text:
        if not port_text.isdecimal() or not 0 < int(port_text) < 65536:
            raise SIPProtocolError(f"bad port in {text!r}")
        return host, int(port_text)
    return host, None


@dataclass(frozen=True, slots=True)
class URI:
    scheme: str
    host: str
    user: str = ""
    port: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> URI:
        scheme, colon, rest = text.strip().partition(":")
        scheme = scheme.lower()
        if not colon or scheme not in ("sip", "sips", "tel"):
            raise SIPProtocolError(f"not a SIP URI: {text[:60]!r}", 416, "Unsupported URI Scheme")
        rest = rest.split("?", 1)[0]
        if scheme == "tel":
            number, _, params = rest.partition(";")
            return cls(scheme=scheme, host="", user=number, params=parse_params(params))
        userinfo, at, hostpart = rest.rpartition("@")
        hostport, _, params = hostpart.partition(";")
        host, port = split_hostport(hostport)
        return cls(
            scheme=scheme,
            host=host,
            user=userinfo.split(":", 1)[0] if at else "",
            port=port,
            params=parse_params(params),
        )

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{self.user}{format_params(self.params)}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        user = f"{self.user}@" if self.user else ""
        return f"{self.scheme}:{user}{host}{port}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class Address:
    """A name-addr or addr-spec with header parameters: From, To, Contact, Route."""

    uri: URI
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Address:
        text = text.strip()
        if "<" in text:
            display, _, rest = text.partition("<")
            uri, closing, params = rest.partition(">")
            if not closing:
                raise SIPProtocolError(f"unclosed <> in {text[:60]!r}")
            display = display.strip()
            if display.startswith('"') and display.endswith('"') and len(display) >= 2:
                display = display[1:-1].replace('\\"', '"')
            return cls(uri=URI.parse(uri), display=display, params=parse_params(params))
        # addr-spec: every ;param belongs to the header, not the URI (§20.10).
        uri, _, params = text.partition(";")
        return cls(uri=URI.parse(uri), params=parse_params(params))

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")

    def with_tag(self, tag: str) -> Address:
        return replace(self, params={**self.params, "tag": tag})

    def __str__(self) -> str:
        display = '"{}" '.format(self.display.replace('"', '\\"')) if self.display else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class Via:
    transport: str
    host: str
    port: int | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        protocol, _, rest = text.strip().partition(" ")
        pieces = [p.strip() for p in protocol.split("/")]
        if len(pieces) != 3 or pieces[0].upper() != "SIP" or pieces[1] != "2.0":
            raise SIPProtocolError(f"bad Via {text[:60]!r}")
        sent_by, _, params = rest.strip().partition(";")
        host, port = split_hostport(sent_by.strip())
        return cls(transport=pieces[2].upper(), host=host, port=port, params=parse_params(params))

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")

    def __str__(self) -> str:
        port = f":{self.port}" if self.port else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        number, _, method = text.strip().partition(" ")
        method = method.strip()
        if not number.isdecimal() or len(number) > 10 or not method.isalpha():
            raise SIPProtocolError(f"bad CSeq {text[:40]!r}", 400, "Bad CSeq")
        return cls(int(number), method)

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
