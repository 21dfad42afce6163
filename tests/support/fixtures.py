"""Paths of the captured data the tests replay (copied byte for byte from a real
Asterisk 22 lab: raw AMI traffic, its configs and its MixMonitor recording)."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AMI = FIXTURES / "ami"
AUDIO = FIXTURES / "audio"
ASTERISK_CONFIG = FIXTURES / "asterisk-config"
MIXMONITOR_SAMPLE = AUDIO / "asterisk-mixmonitor-sample.wav"
