"""The call sources a ``hotline serve`` runs, built from settings.

Each source has one lifecycle (``start()`` / ``stop()``), a ``status`` for
``/api/health``, and sends its call facts to the same sink (``Hotline.on_fact``).

May import: the sources (``hotline.ami``, ``hotline.sip``), ``hotline.calls``,
``hotline.config``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from hotline.calls import FactSink
from hotline.config import Settings

if TYPE_CHECKING:
    from hotline.ami import AMIConfig


class Source(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


def asterisk_config(settings: Settings) -> AMIConfig:
    """The Asterisk source's configuration from ``HOTLINE_AMI_URL`` and friends (unset
    ``HOTLINE_ASTERISK_RECORDINGS_PBX_PATH``: the PBX names the directory as we do)."""
    from hotline.ami import AMIConfig

    assert settings.ami_url is not None
    return AMIConfig.from_url(
        settings.ami_url,
        recordings_dir=settings.asterisk_recordings,
        pbx_recordings_dir=settings.asterisk_recordings_pbx_path,
        mixmonitor_grace=settings.ami_mixmonitor_grace,
        seen_ledger=settings.data_dir / "asterisk-recordings.seen",
    )


class _Asterisk:
    name = "asterisk"

    def __init__(self, settings: Settings, sink: FactSink) -> None:
        from hotline.ami import AsteriskSource

        self._source = AsteriskSource(asterisk_config(settings), sink)

    async def start(self) -> None:
        await self._source.start()

    async def stop(self) -> None:
        await self._source.stop()

    def health(self) -> dict[str, Any]:
        status = self._source.status
        return {"ok": status.healthy, **status.as_dict()}


class _SIPLine:
    name = "sip"

    def __init__(self, settings: Settings, sink: FactSink) -> None:
        from hotline.sip import SIPConfig, SIPLine, parse_listen
        from hotline.sip.config import default_notice

        listen = parse_listen(settings.sip)
        assert listen is not None
        low, _, high = settings.sip_rtp_ports.partition("-")
        config = SIPConfig(
            recordings_dir=settings.spool_dir / "sip",
            host=listen[0],
            port=listen[1],
            transports=_words(settings.sip_transports),
            advertise_host=settings.sip_advertise,
            rtp_port_range=(int(low), int(high)),
            rtp_silence_timeout=settings.sip_rtp_timeout,
            max_call_seconds=settings.sip_max_call_seconds,
            ring_seconds=settings.sip_ring_seconds,
            max_calls=settings.sip_max_calls,
            codecs=tuple(c.upper() for c in _words(settings.sip_codecs)),
            registrar=settings.sip_registrar,
            user=settings.sip_user,
            password=settings.sip_password,
            auth_user=settings.sip_auth_user,
            domain=settings.sip_domain,
            expiry=settings.sip_expiry,
            register_retry=settings.sip_register_retry,
            notice_path=settings.sip_notice or default_notice(),
            operator=settings.sip_operator,
            operator_ring_seconds=settings.sip_operator_ring_seconds,
        )
        self._line = SIPLine(config, sink)

    async def start(self) -> None:
        await self._line.start()

    async def stop(self) -> None:
        await self._line.stop()

    def health(self) -> dict[str, Any]:
        status = self._line.status
        reg = status.registration
        return {
            "ok": status.running
            and (reg is None or reg.state != "failed")
            and not status.facts_lost,
            "listening": list(status.listening),
            "registration": None
            if reg is None
            else {
                "state": reg.state,
                "registrar": reg.registrar,
                "last_error": reg.last_error or None,
                "expires_at": reg.expires_at.isoformat() if reg.expires_at else None,
            },
            "live_calls": len(status.live_calls),
            "rejected_messages": status.rejected_messages,
            "facts_lost": status.facts_lost,
            "recovered_recordings": status.recovered,
        }


def _words(value: str) -> tuple[str, ...]:
    return tuple(w.strip().lower() for w in value.split(",") if w.strip())


def build_sources(settings: Settings, sink: FactSink) -> list[Source]:
    """The sources these settings ask for (a bad source setting raises ``ConfigError``)."""
    sources: list[Source] = []
    if settings.sip != "off":
        sources.append(_SIPLine(settings, sink))
    if settings.ami_url:
        sources.append(_Asterisk(settings, sink))
    return sources


def asterisk_source(settings: Settings, sink: FactSink) -> Source:
    """A fresh Asterisk source (a new leader starts one as after a restart)."""
    return _Asterisk(settings, sink)
