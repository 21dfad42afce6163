"""Registering the line as an extension on a PBX or SIP trunk (RFC 3261 §10), sans-I/O.

``build()`` gives the next REGISTER; ``on_result()`` takes its final response (or
``None`` for no answer) and says what changed and when to send the next one: right
away with credentials after a 401/407 digest challenge, shortly before the binding
expires after a 2xx, after ``retry`` seconds after a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.errors import SIPProtocolError
from hotline.sip.address import URI, Address
from hotline.sip.digest import Challenge, authorization
from hotline.sip.events import RegistrationChanged
from hotline.sip.message import Headers, Request, Response


@dataclass(frozen=True, slots=True)
class RegistrationConfig:
    registrar: URI
    user: str
    password: str = ""
    auth_user: str = ""
    """The digest user name when it differs from ``user``."""
    domain: str = ""
    """The address-of-record's domain; the registrar's host when empty."""
    expiry: int = 600
    retry: float = 30.0


@dataclass(slots=True)
class Registration:
    config: RegistrationConfig
    call_id: str
    tag: str
    state: str = "off"
    last_error: str = ""
    expires_at: float | None = None
    _cseq: int = 0
    _expiry: int = 0
    _challenge: Challenge | None = None
    _proxy: bool = False
    _nc: int = 0
    _answered_challenge: bool = False
    _last: RegistrationChanged | None = field(default=None, repr=False)

    @property
    def aor(self) -> URI:
        registrar = self.config.registrar
        return URI("sip", self.config.domain or registrar.host, self.config.user)

    def build(
        self, *, via: str, contact: str, user_agent: str, unregister: bool = False
    ) -> Request:
        self._cseq += 1
        self._expiry = self._expiry or self.config.expiry
        uri = str(URI("sip", self.aor.host, port=self.config.registrar.port))
        headers = Headers()
        headers.add("Via", via)
        headers.add("Max-Forwards", "70")
        headers.add("From", str(Address(self.aor, params={"tag": self.tag})))
        headers.add("To", str(Address(self.aor)))
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{self._cseq} REGISTER")
        headers.add("Contact", f"<{contact}>")
        headers.add("Expires", "0" if unregister else str(self._expiry))
        headers.add("User-Agent", user_agent)
        if self._challenge is not None:
            self._nc += 1
            value = authorization(
                self._challenge,
                method="REGISTER",
                uri=uri,
                username=self.config.auth_user or self.config.user,
                password=self.config.password,
                nc=self._nc,
            )
            headers.add("Proxy-Authorization" if self._proxy else "Authorization", value)
        if self.state == "off":
            self.state = "registering"
        return Request(headers=headers, body=b"", method="REGISTER", uri=uri)

    def on_result(
        self, response: Response | None, now: float
    ) -> tuple[RegistrationChanged | None, float | None]:
        """What changed (``None`` if nothing) and when to send the next REGISTER."""
        if response is None:
            return self._failed("no answer from the registrar", now)
        if response.status in (401, 407):
            header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
            try:
                challenge = Challenge.parse(response.headers.get(header) or "")
            except SIPProtocolError as exc:
                return self._failed(f"{response.status} with an unusable challenge: {exc}", now)
            sent_credentials = self._challenge is not None and self._answered_challenge
            same_nonce = self._challenge is not None and challenge.nonce == self._challenge.nonce
            if sent_credentials and (same_nonce or not challenge.stale):
                self._challenge = None
                return self._failed(
                    f"the registrar rejected the credentials for {self.config.user!r}", now
                )
            self._challenge, self._proxy, self._nc = challenge, response.status == 407, 0
            self._answered_challenge = True
            return None, now
        if response.status == 423:
            minimum = (response.headers.get("Min-Expires") or "").strip()
            if minimum.isdecimal() and int(minimum) > self._expiry:
                self._expiry = int(minimum)
                return None, now
        if response.status >= 300:
            return self._failed(f"{response.status} {response.reason}", now)
        self._answered_challenge = False
        expires = self._granted(response)
        self.state, self.last_error, self.expires_at = "registered", "", now + expires
        refresh = max(expires * 0.5, expires - 60.0)
        return self._changed(RegistrationChanged("registered", "", expires)), now + refresh

    def _granted(self, response: Response) -> int:
        for contact in response.headers.get_all("Contact"):
            try:
                address = Address.parse(contact)
            except SIPProtocolError:
                continue
            if (
                address.uri.user == self.config.user
                and address.params.get("expires", "").isdecimal()
            ):
                return max(1, int(address.params["expires"]))
        header = (response.headers.get("Expires") or "").strip()
        return max(1, int(header)) if header.isdecimal() else self._expiry

    def _failed(self, why: str, now: float) -> tuple[RegistrationChanged | None, float | None]:
        self.state, self.last_error, self.expires_at = "failed", why, None
        self._answered_challenge = False
        return self._changed(RegistrationChanged("failed", why)), now + self.config.retry

    def _changed(self, event: RegistrationChanged) -> RegistrationChanged | None:
        if self._last is not None and (self._last.state, self._last.detail) == (
            event.state,
            event.detail,
        ):
            return None
        self._last = event
        return event
