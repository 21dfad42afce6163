"""G.711 as RTP carries it: the payload names (``PCMU``, ``PCMA``) over the one codec,
``transcriber.g711``, and the byte tables the per-packet paths use.

Decoding then encoding gives every code back, except µ-law's "negative zero" (0x7F),
which decodes to 0 like 0xFF: a 16-bit PCM recording keeps the G.711 signal exactly.
"""

from __future__ import annotations

from typing import Final

import transcriber.g711 as codec
from transcriber.g711 import Law, Samples

PCMU: Final = "PCMU"
PCMA: Final = "PCMA"
LAWS: Final[dict[str, Law]] = {PCMU: "ulaw", PCMA: "alaw"}

__all__ = ["HIGH_BYTES", "LOW_BYTES", "PCMA", "PCMU", "SILENCE", "TRANSCODE", "Samples"]

LOW_BYTES: Final = {
    name: bytes(int(v) & 0xFF for v in codec.DECODE[law]) for name, law in LAWS.items()
}
HIGH_BYTES: Final = {
    name: bytes((int(v) >> 8) & 0xFF for v in codec.DECODE[law]) for name, law in LAWS.items()
}
"""The decoded 16-bit little-endian samples' low and high bytes, for ``bytes.translate``:
a payload decodes straight into a buffer with two C-level passes, no array per packet."""
TRANSCODE: Final = {
    (a, b): codec.encode(codec.DECODE[LAWS[a]], LAWS[b]) for a in LAWS for b in LAWS
}
"""``bytes.translate`` tables from one law to the other (through the linear sample)."""
SILENCE: Final = {name: codec.SILENCE[law] for name, law in LAWS.items()}
"""The code each law sends for digital silence."""


def decode(payload: bytes, name: str) -> Samples:
    """G.711 codes of payload type ``name`` → 16-bit linear samples."""
    return codec.decode(payload, LAWS[name])


def encode(samples: Samples, name: str) -> bytes:
    """16-bit linear samples → G.711 codes of payload type ``name``."""
    return codec.encode(samples, LAWS[name])
