"""The call sources a ``hotline serve`` runs, built from settings.

Each source has one lifecycle (``start()`` / ``stop()``), a ``status`` for
``/api/health``, and sends its call facts to the same sink (``Hotline.on_fact``).

May import: the sources (``hotline.ami``, ``hotline.sip``), ``hotline.calls``,
``hotline.config``.
"""

from __future__ import annotations

from typing import Any, Protocol

from hotline.calls import FactSink
from hotline.config import Settings


class Source(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


class _Asterisk:
    name = "asterisk"

    def __init__(self, settings: Settings, sink: FactSink) -> None:
        from hotline.ami import AMIConfig, AsteriskSource

        assert settings.ami_url is not None
        config = AMIConfig.from_url(
            settings.ami_url,
            recordings_dir=settings.asterisk_recordings,
            pbx_recordings_dir=settings.asterisk_recordings_pbx_path,
            mixmonitor_grace=settings.ami_mixmonitor_grace,
            seen_ledger=settings.data_dir / "asterisk-recordings.seen",
        )
        self._source = AsteriskSource(config, sink)

    async def start(self) -> None:
        await self._source.start()

    async def stop(self) -> None:
        await self._source.stop()

    def health(self) -> dict[str, Any]:
        status = self._source.status
        return {"ok": status.healthy, **status.as_dict()}


def build_sources(settings: Settings, sink: FactSink) -> list[Source]:
    sources: list[Source] = []
    if settings.ami_url:
        sources.append(_Asterisk(settings, sink))
    return sources
