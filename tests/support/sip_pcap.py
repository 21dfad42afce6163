"""RTP test traffic made in pure Python: G.711 RTP packets of a WAV file, written as a
pcap that sipp's ``play_pcap_audio`` replays (Ethernet / IPv4 / UDP / RTP, paced by the
pcap timestamps)."""

from __future__ import annotations

import struct
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hotline.rtp.packet import RtpPacket
from tests.support import g711_reference

PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
SILENCE = {"PCMU": 0xFF, "PCMA": 0xD5}  # the code each law sends for digital silence


def read_pcm(path: Path) -> np.ndarray:
    """An 8 kHz mono 16-bit WAV as samples."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2), path
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.int16)


def rtp_packets(
    samples: np.ndarray,
    codec: str,
    *,
    ssrc: int = 0x1234ABCD,
    first_seq: int = 1000,
    first_ts: int = 160000,
    drop: Iterable[int] = (),
) -> list[tuple[float, RtpPacket]]:
    """(send time, packet) every 20 ms; packets whose index is in ``drop`` are left out."""
    dropped = set(drop)
    coded = g711_reference.encode(samples, codec)
    out = []
    for index, start in enumerate(range(0, len(coded), 160)):
        if index in dropped:
            continue
        payload = coded[start : start + 160].ljust(160, bytes([SILENCE[codec]]))
        packet = RtpPacket(
            payload_type=PAYLOAD_TYPES[codec],
            sequence_number=(first_seq + index) & 0xFFFF,
            timestamp=(first_ts + index * 160) & 0xFFFFFFFF,
            ssrc=ssrc,
            payload=payload,
            marker=index == 0,
        )
        out.append((index * 0.02, packet))
    return out


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def write_pcap(
    path: Path,
    packets: list[tuple[float, RtpPacket]],
    *,
    src=("127.0.0.1", 6000),
    dst=("127.0.0.1", 7000),
) -> Path:
    """A classic pcap (link type Ethernet) of the packets as UDP datagrams."""
    src_ip = bytes(int(x) for x in src[0].split("."))
    dst_ip = bytes(int(x) for x in dst[0].split("."))
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for when, packet in packets:
            rtp = bytes(packet)
            udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(rtp), 0) + rtp
            ip = struct.pack(
                "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, src_ip, dst_ip
            )
            ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
            frame = b"\x00" * 6 + b"\x02" + b"\x00" * 5 + b"\x08\x00" + ip + udp
            seconds = 1_700_000_000 + int(when)
            micros = round((when - int(when)) * 1_000_000)
            out.write(struct.pack("<IIII", seconds, micros, len(frame), len(frame)))
            out.write(frame)
    return path


def speech_pcap(wav: Path, out: Path, codec: str, *, drop: Iterable[int] = ()) -> Path:
    """The pcap sipp plays for a call: ``wav`` (8 kHz mono 16-bit) as ``codec`` RTP."""
    return write_pcap(out, rtp_packets(read_pcm(wav), codec, drop=drop))
