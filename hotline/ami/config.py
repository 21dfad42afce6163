"""Configuration of the Asterisk source: one frozen dataclass, built once.

``AMIConfig.from_url("ami://user:secret@host:5038", recordings_dir=...)`` is what the
service composition calls with the values of ``HOTLINE_AMI_URL``,
``HOTLINE_ASTERISK_RECORDINGS`` and ``HOTLINE_ASTERISK_RECORDINGS_PBX_PATH``; every
other field has a default that suits a PBX on the same site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from hotline.errors import ConfigError

__all__ = ["DEFAULT_PBX_RECORDINGS", "AMIConfig"]

DEFAULT_PBX_RECORDINGS = PurePosixPath("/var/spool/asterisk/monitor")
"""Where MixMonitor writes relative file names (Asterisk's ``astspooldir``/monitor)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AMIConfig:
    """Everything the Asterisk source needs; times are seconds."""

    host: str
    port: int = 5038
    username: str
    secret: str = field(repr=False)
    tls: bool = False
    """``amis://``: AMI over TLS (Asterisk's ``tlsenable`` in manager.conf)."""
    auth: Literal["plain", "md5"] = "plain"
    """``md5`` answers a ``Challenge`` so the secret never crosses the wire."""

    recordings_dir: Path | None = None
    """Where this process reads the PBX's recordings (``HOTLINE_ASTERISK_RECORDINGS``).
    ``None`` disables pick-up: facts stop at ``RecordingStarted``/``CallEnded``."""
    pbx_recordings_dir: PurePosixPath = DEFAULT_PBX_RECORDINGS
    """The same directory as the PBX names it (``HOTLINE_ASTERISK_RECORDINGS_PBX_PATH``);
    ``from_url`` makes it ``recordings_dir`` when not given: both sides name it alike."""

    hotline_variable: str = "HOTLINE_CALL"
    """Channel variable the dialplan sets to mark a hotline call."""
    hotline_value: str = "1"
    mixmonitor_grace: float = 3.0
    """An answered hotline call with no MixMonitor after this long gets one from us."""
    mixmonitor_legs: bool = True
    """Our own MixMonitor also writes the caller (``r()``) and operator (``t()``) legs."""

    connect_timeout: float = 5.0
    action_timeout: float = 5.0
    ping_interval: float = 20.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    max_frame_size: int = 1 << 20

    file_poll_interval: float = 0.1
    file_stable_for: float = 0.3
    """A recording is closed once its WAV header is final and its size has not changed
    for this long."""
    file_close_timeout: float = 30.0
    """After the call ends, how long to wait for its files before reporting them."""
    orphan_min_age: float = 10.0
    """A file nobody announced is taken as finished once it is this old."""
    orphan_max_age: float = 7 * 86400.0
    """Older unannounced files are left alone (a restart does not re-seal the archive)."""
    recording_glob: str = "hotline-*"
    seen_ledger: Path | None = None
    """Append-only list of recordings already handed over (e.g.
    ``<data dir>/asterisk-recordings.seen``), so the orphan scan after a restart does
    not offer them again. ``None``: every restart re-offers files younger than
    ``orphan_max_age`` (harmless with an idempotent intake, but slow)."""
    stop_timeout: float = 5.0
    """``stop()`` waits this long for queued facts to reach the sink."""

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("HOTLINE_AMI_URL: the host is missing")
        if not self.username:
            raise ConfigError("HOTLINE_AMI_URL: the user name is missing")
        if not 0 < self.port < 65536:
            raise ConfigError(f"HOTLINE_AMI_URL: port {self.port} is out of range")
        if self.auth not in ("plain", "md5"):
            raise ConfigError(f"HOTLINE_AMI_URL: auth must be plain or md5, not {self.auth!r}")
        if not self.pbx_recordings_dir.is_absolute():
            raise ConfigError(
                "HOTLINE_ASTERISK_RECORDINGS_PBX_PATH must be an absolute path, "
                f"not {str(self.pbx_recordings_dir)!r}"
            )
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, float) and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"AMI setting {item.name} must be a finite number >= 0")
        if self.reconnect_min <= 0 or self.reconnect_max < self.reconnect_min:
            raise ConfigError("AMI reconnect bounds must satisfy 0 < min <= max")
        if self.file_poll_interval <= 0 or self.action_timeout <= 0:
            raise ConfigError("AMI file_poll_interval and action_timeout must be > 0")

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        recordings_dir: Path | str | None = None,
        pbx_recordings_dir: PurePosixPath | str | None = None,
        **overrides: Any,
    ) -> AMIConfig:
        """Parse ``ami://user:secret@host[:port][?auth=md5]`` (``amis://`` for TLS).

        ``pbx_recordings_dir`` defaults to ``recordings_dir`` (made absolute), else to
        Asterisk's own ``/var/spool/asterisk/monitor``.

        User and secret are percent-decoded, so a secret may hold ``@`` or ``:`` as
        ``%40`` / ``%3A``. Raises ``ConfigError`` naming ``HOTLINE_AMI_URL``.
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise ConfigError(f"HOTLINE_AMI_URL is not a valid URL: {exc}") from None
        if parts.scheme not in ("ami", "amis"):
            raise ConfigError(
                "HOTLINE_AMI_URL must look like ami://USER:SECRET@HOST:5038 "
                f"(scheme {parts.scheme!r} is not ami or amis)"
            )
        if parts.username is None or parts.password is None:
            raise ConfigError(
                "HOTLINE_AMI_URL must carry the AMI user and secret: ami://USER:SECRET@HOST"
            )
        if parts.path not in ("", "/"):
            raise ConfigError(f"HOTLINE_AMI_URL takes no path (found {parts.path!r})")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = set(query) - {"auth"}
        if unknown:
            raise ConfigError(f"HOTLINE_AMI_URL: unknown parameter(s) {', '.join(sorted(unknown))}")
        auth = query.get("auth", ["plain"])[-1].lower()
        if auth not in ("plain", "md5"):
            raise ConfigError(f"HOTLINE_AMI_URL: auth must be plain or md5, not {auth!r}")
        settings: dict[str, Any] = {
            "host": parts.hostname or "",
            "port": port if port is not None else 5038,
            "username": unquote(parts.username),
            "secret": unquote(parts.password),
            "tls": parts.scheme == "amis",
            "auth": auth,
        }
        if recordings_dir is not None:
            settings["recordings_dir"] = Path(recordings_dir)
        if pbx_recordings_dir not in (None, ""):
            settings["pbx_recordings_dir"] = PurePosixPath(str(pbx_recordings_dir))
        elif recordings_dir is not None:
            # Unset: the PBX names the directory as this host does (hotline on the PBX
            # host, or a share mounted under the same path).
            settings["pbx_recordings_dir"] = PurePosixPath(Path(recordings_dir).absolute())
        settings.update(overrides)
        try:
            return cls(**settings)
        except TypeError as exc:
            raise ConfigError(f"AMI settings: {exc}") from None

    @property
    def address(self) -> str:
        return f"{'amis' if self.tls else 'ami'}://{self.username}@{self.host}:{self.port}"
