"""G.711 µ-law and A-law (ITU-T G.711), as lookup tables over numpy arrays.

Decoding then encoding gives every code back, except µ-law's "negative zero" (0x7F),
which decodes to 0 like 0xFF: a 16-bit PCM recording keeps the G.711 signal exactly.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

PCMU: Final = "PCMU"
PCMA: Final = "PCMA"

Samples = npt.NDArray[np.int16]


def _ulaw_to_linear(code: int) -> int:
    code = ~code & 0xFF
    magnitude = (((code & 0x0F) << 3) + 0x84) << ((code & 0x70) >> 4)
    return (0x84 - magnitude) if code & 0x80 else (magnitude - 0x84)


def _alaw_to_linear(code: int) -> int:
    code ^= 0x55
    magnitude = (code & 0x0F) << 4
    segment = (code & 0x70) >> 4
    if segment == 0:
        magnitude += 8
    elif segment == 1:
        magnitude += 0x108
    else:
        magnitude = (magnitude + 0x108) << (segment - 1)
    return magnitude if code & 0x80 else -magnitude


def _linear_to_ulaw(sample: int) -> int:
    # G.711 µ-law works on 14-bit magnitudes: drop the two low bits, bias by 33.
    value = sample >> 2
    sign = 0x80 if value < 0 else 0
    magnitude = min(-value if value < 0 else value, 8159) + 0x21
    exponent = max(0, magnitude.bit_length() - 6)
    if exponent > 7:
        return ~(sign | 0x7F) & 0xFF
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _linear_to_alaw(sample: int) -> int:
    sign = 0x80 if sample >= 0 else 0
    magnitude = min(sample if sample >= 0 else -sample - 1, 32767) >> 3
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


_DECODE: Final = {
    PCMU: np.array([_ulaw_to_linear(c) for c in range(256)], dtype=np.int16),
    PCMA: np.array([_alaw_to_linear(c) for c in range(256)], dtype=np.int16),
}
_ENCODE: Final = {
    PCMU: np.array([_linear_to_ulaw(s) for s in range(-32768, 32768)], dtype=np.uint8),
    PCMA: np.array([_linear_to_alaw(s) for s in range(-32768, 32768)], dtype=np.uint8),
}
LOW_BYTES: Final = {codec: bytes(int(v) & 0xFF for v in table) for codec, table in _DECODE.items()}
HIGH_BYTES: Final = {
    codec: bytes((int(v) >> 8) & 0xFF for v in table) for codec, table in _DECODE.items()
}
"""The decoded 16-bit little-endian samples' low and high bytes, for ``bytes.translate``:
a payload decodes straight into a buffer with two C-level passes, no array per packet."""
TRANSCODE: Final = {
    (a, b): bytes(int(_ENCODE[b][int(v) + 32768]) for v in _DECODE[a])
    for a in (PCMU, PCMA)
    for b in (PCMU, PCMA)
}
"""``bytes.translate`` tables from one law to the other (through the linear sample)."""
SILENCE: Final = {PCMU: 0xFF, PCMA: 0xD5}
"""The code each law sends for digital silence."""


def decode(payload: bytes, codec: str) -> Samples:
    """G.711 codes → 16-bit linear samples."""
    return _DECODE[codec][np.frombuffer(payload, dtype=np.uint8)]


def encode(samples: Samples, codec: str) -> bytes:
    """16-bit linear samples → G.711 codes."""
    index = samples.astype(np.int32) + 32768
    return bytes(_ENCODE[codec][index].tobytes())
