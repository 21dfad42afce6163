"""G.711 µ-law and A-law (ITU-T G.711), as lookup tables over numpy arrays; no I/O.

The one codec for the whole project: WAV files coded in G.711 (``transcriber.wav``) and
the SIP line's RTP payloads (``hotline.rtp.g711``) both decode through these tables.

Decoding gives 16-bit linear samples: µ-law's 14-bit and A-law's 13-bit decoder
outputs (G.711 tables 2 and 1) shifted left by 2 and 3 bits. Encoding takes 16-bit
samples and drops those low bits first. Decoding then encoding gives every code back,
except µ-law's "negative zero" (0x7F), which decodes to 0 like 0xFF: a 16-bit PCM
recording keeps the G.711 signal exactly.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

Law = Literal["ulaw", "alaw"]
Samples = npt.NDArray[np.int16]

_CODES = np.arange(256, dtype=np.int32)
_LINEAR = np.arange(-32768, 32768, dtype=np.int32)


def _bit_length(values: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """``int.bit_length`` of each non-negative value (``frexp`` is exact for integers)."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int32)


def _ulaw_decode_table() -> Samples:
    # Every bit of a µ-law code word is inverted on the line; 1 in the sign bit is
    # positive. Segment e, interval m decodes to ((2m + 33) << e) - 33 in 14-bit units.
    code = ~_CODES & 0xFF
    exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
    magnitude = ((((mantissa << 1) + 33) << exponent) - 33) << 2
    return np.where(code & 0x80, -magnitude, magnitude).astype(np.int16)


def _alaw_decode_table() -> Samples:
    # The even bits of an A-law code word are inverted on the line (XOR 0x55); 1 in the
    # sign bit is positive. Segment 0 and 1 share the step; then it doubles per segment.
    code = _CODES ^ 0x55
    exponent, mantissa = (code >> 4) & 0x07, code & 0x0F
    magnitude = np.where(
        exponent == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0),
    )
    return np.where(code & 0x80, magnitude, -magnitude).astype(np.int16)


def _ulaw_encode_table() -> npt.NDArray[np.uint8]:
    # 14-bit magnitudes biased by 33 put each segment on a power of two.
    value = _LINEAR >> 2
    sign = np.where(value < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(value), 8159) + 33
    exponent = np.maximum(_bit_length(magnitude) - 6, 0)
    mantissa = (magnitude >> (exponent + 1)) & 0x0F
    code = np.where(exponent > 7, sign | 0x7F, sign | (exponent << 4) | mantissa)
    return (~code & 0xFF).astype(np.uint8)


def _alaw_encode_table() -> npt.NDArray[np.uint8]:
    sign = np.where(_LINEAR >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(_LINEAR >= 0, _LINEAR, -_LINEAR - 1), 32767) >> 3
    exponent = np.maximum(_bit_length(magnitude) - 5, 1)
    code = np.where(
        magnitude < 32,
        magnitude >> 1,
        (exponent << 4) | ((magnitude >> exponent) & 0x0F),
    )
    return ((sign | code) ^ 0x55).astype(np.uint8)


DECODE: Final[dict[Law, Samples]] = {"ulaw": _ulaw_decode_table(), "alaw": _alaw_decode_table()}
"""The 256 code words of each law as 16-bit linear samples, indexed by code."""
ENCODE: Final[dict[Law, npt.NDArray[np.uint8]]] = {
    "ulaw": _ulaw_encode_table(),
    "alaw": _alaw_encode_table(),
}
"""Each 16-bit sample's code word, indexed by ``sample + 32768``."""
SILENCE: Final[dict[Law, int]] = {"ulaw": 0xFF, "alaw": 0xD5}
"""The code each law sends for digital silence (A-law has no zero: its smallest step)."""

for _decode in DECODE.values():
    _decode.flags.writeable = False
for _encode in ENCODE.values():
    _encode.flags.writeable = False


def decode(codes: bytes | npt.NDArray[np.uint8], law: Law) -> Samples:
    """G.711 code words → 16-bit linear samples."""
    raw = np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, bytes) else codes
    return DECODE[law][raw]


def encode(samples: Samples, law: Law) -> bytes:
    """16-bit linear samples → G.711 code words."""
    return bytes(ENCODE[law][samples.astype(np.int32) + 32768].tobytes())
