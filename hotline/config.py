"""Settings: one frozen object, built once from a TOML file and ``HOTLINE_*`` variables.

The environment wins over the file. Every setting has a TOML key (its field name) and an
environment variable (``HOTLINE_`` + the name in capitals). A bad value stops the
program at start with one line naming the setting::

    HOTLINE_HTTP: expected HOST:PORT, got 'localhost'

May import: ``hotline.errors``, ``transcriber.languages``.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from hotline.errors import ConfigError
from transcriber import languages

ENV_PREFIX = "HOTLINE_"
_NOT_SETTINGS = frozenset({ENV_PREFIX + "CONFIG"})
"""``HOTLINE_*`` variables that are no setting but are read all the same."""


def _host_port(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdecimal() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return value


def _host_port_or_off(value: str) -> str:
    return "off" if value.strip().lower() in {"off", "no", "false", "0", ""} else _host_port(value)


HostPort = Annotated[str, AfterValidator(_host_port)]
HostPortOrOff = Annotated[str, AfterValidator(_host_port_or_off)]


class Settings(BaseModel):
    """Everything a deployment can set. Field docs are the user documentation."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    data_dir: Path = Path("./hotline-data")
    """Evidence store and the embedded SQLite database live here."""
    database_url: str | None = None
    """``sqlite+aiosqlite:///…`` (default: ``<data_dir>/hotline.db``) or
    ``postgresql+asyncpg://user@host/db``."""
    http: HostPort = "127.0.0.1:8080"
    """Where the web UI and the API listen."""
    session_idle_minutes: float = Field(default=60.0, gt=0)
    """A signed-in browser is signed out after this long without a request."""
    session_max_hours: float = Field(default=12.0, gt=0)
    """A browser session ends this long after sign-in, whatever its activity."""
    login_max_failures: int = Field(default=5, ge=1)
    """Wrong passwords for one user name within 15 minutes before its logins pause."""
    sip: HostPortOrOff = "127.0.0.1:5060"
    """The built-in SIP line (UDP and TCP); ``off`` disables it."""
    sip_transports: str = "udp,tcp"
    sip_advertise: str = ""
    """Address put in Contact and SDP (default: the listening address, or the route to
    each peer when listening on a wildcard)."""
    sip_notice: Path | None = None
    """The recording notice played on answer (8 kHz mono 16-bit WAV); default the
    shipped ``hotline-recording-notice-zh.wav`` of ``dialplan/sounds/``, which an
    installed package carries as ``hotline/sounds/``."""
    sip_rtp_ports: str = "10000-20000"
    """Media ports, ``LOW-HIGH``."""
    sip_rtp_timeout: float = Field(default=30.0, gt=0)
    """Hang up when the caller sent no audio for this long (except on hold)."""
    sip_max_call_seconds: float = Field(default=14400.0, gt=0)
    sip_ring_seconds: float = Field(default=0.5, ge=0)
    sip_max_calls: int = Field(default=500, ge=1)
    sip_codecs: str = "PCMU,PCMA"
    sip_operator: str = ""
    """Ring this SIP URI after the notice and bridge the caller to it (recording both
    sides); empty: the line records the caller alone."""
    sip_operator_ring_seconds: float = Field(default=30.0, gt=0)
    sip_registrar: str = ""
    """Register as an extension of this PBX or trunk (``sip:pbx:5060``); empty: callers
    send INVITEs straight to the line."""
    sip_user: str = "hotline"
    sip_password: str = ""
    sip_auth_user: str = ""
    sip_domain: str = ""
    sip_expiry: int = Field(default=600, ge=60)
    sip_register_retry: float = Field(default=30.0, gt=0)
    ami_url: str | None = None
    """``ami://user:secret@host:5038``; when set, the Asterisk source runs."""
    asterisk_recordings: Path | None = None
    """Directory where Asterisk's MixMonitor writes, as this machine sees it."""
    asterisk_recordings_pbx_path: str | None = None
    """The same directory as Asterisk names it, when that differs from
    ``asterisk_recordings`` (a share mounted under another path here); unset, the PBX is
    taken to name it exactly as ``asterisk_recordings`` does."""
    ami_mixmonitor_grace: float = Field(default=3.0, gt=0)
    """An answered hotline call with no MixMonitor after this long gets one started
    by hotline (and a ``call.unrecorded`` incident if that fails)."""
    whisper_model: str | None = None
    """A model name, a path to a CTranslate2 or openai-whisper model, or unset for the
    bundled multilingual base."""
    whisper_compute_type: str = "int8"
    whisper_threads: int = Field(default=0, ge=0)
    """CPU threads for transcription; 0 uses every core."""
    language: str = "zh"
    """Transcription language (``zh``, ``en``, …) or ``auto``."""
    hotwords: str = ""
    """Names and terms the speech model should prefer, comma-separated (company names
    in the county, statistics terms): ``金河水泥厂,统计台账,虚报``."""
    webhook_url: str | None = None
    webhook_secret: str | None = None
    """``whsec_<base64>``."""
    public_url: str | None = None
    """Base of links in webhooks; default ``http://<http>``."""
    forward: Literal["manual", "auto"] = "manual"
    """``auto``: a draft case goes to the case system as soon as it opens; ``manual``:
    when a handler forwards it."""
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    """Each delivery attempt gives up after this long (keep it under the job lease)."""
    webhook_retry_schedule: str = "5,300,1800,7200,18000,36000,36000"
    """Seconds between attempts after the first (Standard Webhooks' example schedule:
    5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — about 27 hours in all)."""
    webhook_concurrency: int = Field(default=8, ge=1, le=256)
    """Deliveries in flight per worker process."""
    link_ttl_seconds: int = Field(default=86400, ge=60)
    """How long a signed recording link in a webhook stays valid."""
    evidence_min_free_mb: int = Field(default=1024, ge=0)
    """Below this much free space in the evidence store, health says ``degraded``."""
    evidence_url: str | None = None
    """Where sealed recordings are kept: unset for ``<data_dir>/evidence``, or
    ``s3://BUCKET/PREFIX`` for an S3 bucket under Object Lock (recordings are staged in
    ``<data_dir>/evidence`` first)."""
    s3_endpoint_url: str | None = None
    """The S3 server (``http://minio.lan:9000``); default ``AWS_ENDPOINT_URL``, else AWS."""
    s3_region: str | None = None
    """Default ``AWS_REGION``, else ``us-east-1``."""
    s3_access_key_id: str | None = None
    """Default ``AWS_ACCESS_KEY_ID`` (or boto3's other standard sources)."""
    s3_secret_access_key: str | None = None
    """Default ``AWS_SECRET_ACCESS_KEY``."""
    evidence_allow_unlocked: bool = False
    """Start on a bucket without versioning and Object Lock, where evidence could be
    deleted (a lab). Off: such a node refuses to start."""
    evidence_verify_concurrency: int = Field(default=8, ge=1, le=128)
    """Objects ``hotline verify`` re-hashes at once."""
    signing_key: Path | None = None
    """The installation's Ed25519 private key (PEM), which signs copies, disc archives
    and audit checkpoints; default ``<data_dir>/keys/installation-ed25519.pem``, created
    at first start. Nodes of one installation share it; keep it out of database backups."""
    checkpoint_interval_seconds: float = Field(default=600.0, ge=0)
    """How often the head of the audit chain is signed with the installation's key (when
    the chain moved since the last checkpoint), stored in the chain, and sent to the case
    system as ``audit.checkpoint``; 0 signs only on demand (``hotline audit
    checkpoint``)."""
    tsa_url: str | None = None
    """A timestamp authority (RFC 3161, ``http(s)://…``): each checkpoint also gets a
    token from it, fetched by a job that retries while the TSA is down."""
    tsa_cert: Path | None = Field(default=None, validate_default=True)
    """PEM file with the TSA's certificate and the CA certificates up to the root:
    tokens are checked against it when fetched and by ``hotline verify``."""
    tsa_timeout_seconds: float = Field(default=10.0, gt=0)
    """Each request to the TSA gives up after this long."""
    retention_years: int = Field(default=30, ge=1, le=1000)
    """How long a case's records are kept (art. 19), in years from the case's opening,
    for every category not named in ``retention_categories``."""
    retention_categories: str = ""
    """Retention per case category, ``CATEGORY=YEARS`` comma-separated
    (``迟报统计资料=10,其他=10``); the others keep ``retention_years``."""
    recording_tolerance_seconds: float = Field(default=2.0, ge=0)
    """A recording shorter than its call by more than this raises recording.incomplete."""
    case_prefix: str = "HL"
    """Case numbers look like ``HL-2026-000123``."""
    timezone: str = "Asia/Shanghai"
    """The agency's local time: case-number years and dates shown to people."""
    job_lease_seconds: float = Field(default=60.0, gt=0)
    """A worker holds a job this long without a heartbeat before others reclaim it."""
    job_max_attempts: int = Field(default=5, ge=1)
    job_backoff_seconds: float = Field(default=5.0, ge=0)
    """First retry delay of a failed job; doubles per attempt (with jitter)."""
    job_poll_seconds: float = Field(default=0.5, gt=0)
    leader_lease_seconds: float = Field(default=15.0, ge=1, le=600)
    """With several ``hotline serve`` nodes, one follows the PBX (``HOTLINE_AMI_URL``)
    while it holds a lease in the database; a node that dies is replaced within this
    long plus a third of it."""
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)
    """On SIGINT/SIGTERM, how long in-flight work may finish before it is left for
    another worker to reclaim."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB, "
                f"got {value.split('://')[0]!r}"
            )
        return value

    @field_validator("evidence_url")
    @classmethod
    def _evidence_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith("s3://") or len(value.removeprefix("s3://").split("/")[0]) < 3:
            raise ValueError("expected s3://BUCKET/PREFIX (or unset for the data directory)")
        return value

    @field_validator("ami_url")
    @classmethod
    def _ami_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("ami://", "amis://")) or "@" not in value:
            raise ValueError("expected ami://USER:SECRET@HOST:PORT (amis:// for TLS)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith("whsec_") or len(value) < 16:
            raise ValueError("expected whsec_<base64>, as the case system gave it")
        return value

    @field_validator("tsa_url")
    @classmethod
    def _tsa_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected the timestamp authority's http:// or https:// URL")
        return value

    @field_validator("tsa_cert")
    @classmethod
    def _tsa_cert(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if info.data.get("tsa_url") and value is None:
            raise ValueError(
                "HOTLINE_TSA_URL is set: name the TSA's certificate (PEM, with its CA "
                "certificates) here, so its tokens can be checked"
            )
        return value

    @field_validator("sip_rtp_ports")
    @classmethod
    def _port_range(cls, value: str) -> str:
        low, _, high = value.partition("-")
        if not (low.strip().isdecimal() and high.strip().isdecimal()):
            raise ValueError(f"expected LOW-HIGH, such as 10000-20000; got {value!r}")
        return value

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            delays = [-1.0]
        if any(d < 0 for d in delays):
            raise ValueError("expected seconds between attempts, comma-separated: 5,300,1800")
        return value

    @field_validator("retention_categories")
    @classmethod
    def _retention(cls, value: str) -> str:
        for part in value.replace("，", ",").split(","):
            if not part.strip():
                continue
            name, sep, years = part.rpartition("=")
            if not sep or not name.strip() or not years.strip().isdecimal() or int(years) < 1:
                raise ValueError(f"expected CATEGORY=YEARS, comma-separated; got {part!r}")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return languages.check(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("case_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value or not value.replace("-", "").isalnum():
            raise ValueError("expected letters and digits, such as HL")
        return value

    # Derived values -------------------------------------------------------------

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'hotline.db').resolve()}"

    @property
    def embedded_database(self) -> bool:
        """The default SQLite file in the data directory, owned by this install alone."""
        return self.database_url is None

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def signing_key_path(self) -> Path:
        from hotline.evidence.keys import KEY_FILE

        return self.signing_key or self.data_dir / "keys" / KEY_FILE

    @property
    def copies_dir(self) -> Path:
        """Issued copies (ZIPs), written once, kept for download and for the record."""
        return self.data_dir / "copies"

    @property
    def spool_dir(self) -> Path:
        """Where call sources write recordings before they are sealed."""
        return self.data_dir / "spool"

    @property
    def http_host(self) -> str:
        return self.http.rpartition(":")[0]

    @property
    def http_port(self) -> int:
        return int(self.http.rpartition(":")[2])

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.http}").rstrip("/")

    @property
    def hotword_list(self) -> tuple[str, ...]:
        return tuple(w.strip() for w in self.hotwords.replace("，", ",").split(",") if w.strip())

    @property
    def retry_delays(self) -> tuple[float, ...]:
        return tuple(float(p) for p in self.webhook_retry_schedule.split(",") if p.strip())

    @property
    def retention_by_category(self) -> dict[str, int]:
        table: dict[str, int] = {}
        for part in self.retention_categories.replace("，", ",").split(","):
            if part.strip():
                name, _, years = part.rpartition("=")
                table[name.strip()] = int(years)
        return table

    def retention_years_for(self, category: str) -> int:
        """Years a case of ``category`` is kept."""
        return self.retention_by_category.get(category, self.retention_years)

    @property
    def longest_retention_years(self) -> int:
        """What a recording sealed before its case has a category must be kept for."""
        return max([self.retention_years, *self.retention_by_category.values()])

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.timezone)

    def setting_of_path(self, path: str | os.PathLike[str]) -> str | None:
        """The setting that names ``path``, or a directory above or below it: which
        variable to change when the system refuses that path."""
        target = Path(os.path.abspath(path))
        named: list[tuple[str, Path | None]] = [
            ("HOTLINE_SIP_NOTICE", self.sip_notice),
            ("HOTLINE_ASTERISK_RECORDINGS", self.asterisk_recordings),
            ("HOTLINE_SIGNING_KEY", self.signing_key),
            ("HOTLINE_TSA_CERT", self.tsa_cert),
            ("HOTLINE_DATA_DIR", self.data_dir),
        ]
        for name, value in named:
            if value is None:
                continue
            mine = Path(os.path.abspath(value))
            if target == mine or mine in target.parents or target in mine.parents:
                return name
        return None

    def describe_os_error(self, exc: OSError) -> str:
        """One line for an ``OSError`` the system raised on a path or an address: the
        path, what the system said, and the setting that names it."""
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, FileExistsError) and not os.path.isdir(exc.filename):
            reason = "is a file, not a directory"
        if exc.filename is None:
            return reason
        setting = self.setting_of_path(exc.filename)
        where = f"{setting}: " if setting else ""
        hint = (
            " (choose a directory this user can create and write, or fix its permissions)"
            if setting == "HOTLINE_DATA_DIR"
            else ""
        )
        return f"{where}{exc.filename}: {reason}{hint}"


def _env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def unknown_variables(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per ``HOTLINE_*`` variable that names no setting (a typo, or a setting
    another version has): the environment is otherwise read silently, so say it."""
    env = os.environ if environ is None else environ
    known = {_env_name(field) for field in Settings.model_fields} | _NOT_SETTINGS
    lines = []
    for name in sorted(n for n in env if n.startswith(ENV_PREFIX) and n not in known):
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        lines.append(f"{name} is not a setting of this hotline and is ignored{hint}")
    return lines


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: TOML file (``config_file`` or ``$HOTLINE_CONFIG``), then env."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        for key, value in table.items():
            values[key] = value
            origin[key] = f"{path}: {key}"
    for field in Settings.model_fields:
        name = _env_name(field)
        if name in env:
            values[field] = env[name]
            origin[field] = name
    unknown = sorted(k for k in values if k not in Settings.model_fields)
    if unknown:
        raise ConfigError(f"{origin[unknown[0]]}: unknown setting")
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        where = origin.get(field, _env_name(field))
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {message}") from None
