"""The Asterisk call source, over the Asterisk Manager Interface (AMI).

Owns everything between a PBX that records its hotline calls with MixMonitor and the
source-agnostic call facts of ``hotline.calls``:

* ``message`` / ``protocol``: AMI framing, messages as ordered multimaps, ``ActionID``
  correlation including event lists; sans-I/O (never imports asyncio);
* ``client``: the asyncio link (connect, login, keepalive ``Ping``, reconnect with
  jittered backoff, actions with timeouts; a refused login is final);
* ``tracker`` (+ ``state``, ``model``, ``completeness``): AMI events → call facts, the
  recording guarantee, adoption after a reconnect; a pure state machine fed ``now``;
* ``recordings`` / ``pickup``: PBX paths → local paths, WAV headers, waiting until a
  recording file is closed, the orphan scan;
* ``source``: ``AsteriskSource``, the one-lifecycle composition that the service runs.

May import ``hotline.calls``, ``hotline.courier`` and ``hotline.errors`` only, and
``transcriber.wav`` (the one RIFF/WAVE chunk reader, pure); never the store, the
evidence store, intake or the web.
"""

from __future__ import annotations

from hotline.ami.client import AMIClient, LinkState, LinkStatus
from hotline.ami.config import AMIConfig
from hotline.ami.message import Message
from hotline.ami.protocol import ActionResult, AMIConnection, Banner, ConnectionClosed
from hotline.ami.source import AsteriskSource, SourceStatus
from hotline.ami.tracker import Tracker, TrackerConfig

__all__ = [
    "AMIClient",
    "AMIConfig",
    "AMIConnection",
    "ActionResult",
    "AsteriskSource",
    "Banner",
    "ConnectionClosed",
    "LinkState",
    "LinkStatus",
    "Message",
    "SourceStatus",
    "Tracker",
    "TrackerConfig",
]
