"""The SIP line's configuration: one frozen dataclass, built by the service from
``Settings`` (``HOTLINE_SIP_*``), and the recording notice it names."""

from __future__ import annotations

import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hotline import __version__
from hotline.errors import ConfigError, SIPProtocolError
from hotline.rtp.session import Notice
from hotline.sip.address import URI


def _sounds() -> Path:
    """Where the shipped prompts are: in the installed package (``hotline/sounds/``,
    copied there from ``dialplan/sounds/`` when the package is built, see setup.py), or,
    running from a source checkout or an editable install, ``dialplan/sounds/`` itself."""
    here = Path(__file__).resolve().parents[1]
    packaged = here / "sounds"
    return packaged if packaged.is_dir() else here.parent / "dialplan" / "sounds"


SOUNDS = _sounds()


def default_notice(language: str = "zh") -> Path:
    """The shipped prompt ``hotline-recording-notice-<language>.wav`` (the files of
    ``dialplan/sounds/``)."""
    return SOUNDS / f"hotline-recording-notice-{language}.wav"


@dataclass(frozen=True, slots=True, kw_only=True)
class SIPConfig:
    recordings_dir: Path
    """Where finished recordings appear (the service passes ``<data dir>/spool/sip``)."""
    host: str = "127.0.0.1"
    port: int = 5060
    """0 lets the system pick (tests); ``status`` tells the port bound."""
    transports: tuple[str, ...] = ("udp", "tcp")
    advertise_host: str = ""
    """The address put in Contact and SDP; by default ``host``, or when that is a
    wildcard, the local address that routes to each peer."""
    notice_path: Path = field(default_factory=default_notice)
    rtp_port_range: tuple[int, int] | None = (10000, 20000)
    """Ports for media (inclusive); ``None`` lets the system pick each one."""
    rtp_silence_timeout: float = 30.0
    """Hang up when the caller sent no RTP for this long (except while on hold)."""
    max_call_seconds: float = 4 * 3600.0
    ring_seconds: float = 0.5
    """Time between 180 Ringing and the answer."""
    max_calls: int = 500
    codecs: tuple[str, ...] = ("PCMU", "PCMA")
    registrar: str = ""
    """``sip:pbx.example.org:5060`` (``;transport=tcp`` for TCP) or ``host[:port]``;
    empty: no registration (callers send INVITEs straight to the line)."""
    user: str = "hotline"
    password: str = ""
    auth_user: str = ""
    domain: str = ""
    expiry: int = 600
    register_retry: float = 30.0
    operator: str = ""
    """Ring this SIP URI (``sip:desk1@10.0.0.5:5060``; ``;transport=tcp`` for TCP) once
    the notice has played, and bridge the caller to whoever answers; empty: the line
    records the caller alone."""
    operator_ring_seconds: float = 30.0
    """Give up ringing the operator after this long; the caller goes on being recorded."""
    user_agent: str = f"hotline/{__version__}"
    shutdown_grace: float = 5.0
    """How long ``stop()`` waits for BYE answers and fact delivery."""
    sync_blocks: bool = True
    """Bring each half-second block of a recording to the disk as it is written (a power
    cut loses at most the last 1.5 s); ``False`` syncs only at the end of the call
    (``bench/sip.py`` measures both)."""

    def __post_init__(self) -> None:
        bad = set(self.transports) - {"udp", "tcp"}
        if bad or not self.transports:
            raise ConfigError(
                f"HOTLINE_SIP_TRANSPORTS: {sorted(bad) or 'none'}: use udp, tcp or both"
            )
        unknown = set(self.codecs) - {"PCMU", "PCMA"}
        if unknown or not self.codecs:
            raise ConfigError(
                f"HOTLINE_SIP_CODECS: {sorted(unknown) or 'none'}: use PCMU and/or PCMA"
            )
        if self.registrar:
            try:
                self.registrar_uri()
            except SIPProtocolError as exc:
                raise ConfigError(
                    f"HOTLINE_SIP_REGISTRAR: {self.registrar!r} is not sip:host[:port] "
                    f"or host[:port] ({exc})"
                ) from exc
        if self.operator:
            try:
                self.operator_uri()
            except SIPProtocolError as exc:
                raise ConfigError(
                    f"HOTLINE_SIP_OPERATOR: {self.operator!r} is not a SIP URI ({exc})"
                ) from exc
        if self.rtp_port_range is not None:
            low, high = self.rtp_port_range
            if not 1024 <= low <= high <= 65535:
                raise ConfigError(
                    f"HOTLINE_SIP_RTP_PORTS: {low}-{high} is not a port range above 1023"
                )

    def operator_uri(self) -> URI:
        text = self.operator.strip()
        uri = URI.parse(text if text.lower().startswith(("sip:", "sips:")) else f"sip:{text}")
        if not uri.host:
            raise SIPProtocolError("no host")
        return uri

    def registrar_uri(self) -> URI:
        text = self.registrar.strip()
        return URI.parse(text if text.lower().startswith(("sip:", "sips:")) else f"sip:{text}")


def parse_listen(value: str) -> tuple[str, int] | None:
    """``HOTLINE_SIP``: ``host:port``, ``[v6]:port``, ``host`` (port 5060) or ``off``."""
    value = value.strip()
    if value.lower() in ("off", "no", "false", "0", ""):
        return None
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest.lstrip(":") or "5060"
    else:
        host, _, port = value.rpartition(":") if ":" in value else (value, "", "5060")
    if not host or not port.isdecimal() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"HOTLINE_SIP: {value!r} is not host:port or off")
    return host, int(port)


def load_notice(path: Path) -> Notice:
    """Read the prompt: it must be an 8 kHz mono 16-bit PCM WAV."""
    hint = "(dialplan/sounds/make-prompts.sh makes one; sox IN -r 8000 -c 1 -b 16 OUT.wav converts)"
    if not path.is_file():
        raise ConfigError(f"HOTLINE_SIP_NOTICE: the recording notice {path} does not exist {hint}")
    try:
        with wave.open(str(path), "rb") as wav:
            shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise ConfigError(
            f"HOTLINE_SIP_NOTICE: {path} is not a readable WAV: {exc} {hint}"
        ) from exc
    if shape != (8000, 1, 2) or not frames:
        raise ConfigError(
            f"HOTLINE_SIP_NOTICE: {path} is {shape[0]} Hz, {shape[1]} channel(s), "
            f"{8 * shape[2]}-bit; it must be 8000 Hz mono 16-bit PCM {hint}"
        )
    return Notice.from_samples(path.name, np.frombuffer(frames, dtype="<i2").astype(np.int16))
