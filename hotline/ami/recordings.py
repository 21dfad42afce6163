"""Recording files as the PBX writes them: names, paths and WAV headers (pure).

* ``PathMap`` turns a path as Asterisk names it (``/var/spool/asterisk/monitor/x.wav``)
  into the path this process reads, refusing anything outside the shared directory.
* ``WavHeader`` reads a RIFF/WAVE header (through ``transcriber.wav``, the project's one
  chunk reader) and tells whether the writer has finalised it. Asterisk's
  ``format_wav`` (Asterisk 13 to 22) writes the header with zero sizes when it opens
  the file and fills in the sizes only in ``wav_close()``, so a header whose sizes
  agree with the file's length is the best sign that MixMonitor let go of it; we
  still wait for the size to stay put (no event says the file is closed, and nothing
  orders the last write before the ``Hangup`` event).
* ``RecordingName`` recognises the dialplan's naming scheme
  ``hotline-YYYYMMDD-HHMMSS-<Uniqueid>[-<suffix>].wav`` (and the older
  ``hotline-message-<Uniqueid>.wav``) to tie a file found on disk to its call.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from transcriber.errors import AudioError
from transcriber.wav import scan_bytes

__all__ = ["PathMap", "RecordingName", "WavHeader", "leg_of"]


@dataclass(frozen=True, slots=True)
class PathMap:
    """Map PBX-side recording paths to local ones (one shared directory)."""

    pbx_root: PurePosixPath
    local_root: Path

    def to_local(self, pbx_path: str) -> Path | None:
        """The local path of ``pbx_path``, or ``None`` if it is outside the shared
        directory (or climbs out of it with ``..``). A relative name is relative to
        the directory, as MixMonitor treats it."""
        if not pbx_path or "\x00" in pbx_path:
            return None
        root = str(self.pbx_root)
        joined = pbx_path if pbx_path.startswith("/") else posixpath.join(root, pbx_path)
        normal = posixpath.normpath(joined)
        if normal == root or not normal.startswith(root.rstrip("/") + "/"):
            return None
        relative = normal[len(root.rstrip("/")) + 1 :]
        return self.local_root.joinpath(*relative.split("/"))

    def to_pbx(self, local_name: str) -> str:
        """The PBX-side path of a file name found in the local directory."""
        return str(self.pbx_root / local_name)


_LEG_SUFFIXES = {"caller": "caller", "operator": "operator", "message": "message"}


def leg_of(name: str) -> str:
    """``caller``/``operator``/``message`` from a dialplan file name suffix, else ``mix``."""
    parsed = RecordingName.parse(name)
    return parsed.leg if parsed is not None else "mix"


_NAME = re.compile(
    r"^hotline-"
    r"(?:(?P<stamp>\d{8}-\d{6})-|(?P<message>message)-)"
    r"(?P<uid>(?:[A-Za-z0-9_.]+-)?\d+\.\d+)"
    r"(?:-(?P<tag>h\d+))?"
    r"(?:-(?P<leg>caller|operator|message))?"
    r"\.(?P<ext>[A-Za-z0-9]+)$"
)


@dataclass(frozen=True, slots=True)
class RecordingName:
    """The parts of a hotline recording's file name."""

    uniqueid: str
    leg: str
    stamp: datetime | None
    """The UTC second the dialplan (or hotline) named the file: when recording began."""
    tag: str = ""
    """``h1``, ``h2``… for recordings hotline started itself."""

    @classmethod
    def parse(cls, name: str) -> RecordingName | None:
        match = _NAME.match(PurePosixPath(name).name)
        if match is None:
            return None
        stamp: datetime | None = None
        if match["stamp"]:
            try:
                stamp = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
            except ValueError:
                return None
        leg = match["leg"] or ("message" if match["message"] else "mix")
        return cls(match["uid"], _LEG_SUFFIXES.get(leg, "mix"), stamp, match["tag"] or "")

    @staticmethod
    def build(uniqueid: str, at: float, *, tag: str = "", leg: str = "mix") -> str:
        """``hotline-YYYYMMDD-HHMMSS-<uid>[-tag][-leg].wav`` for a recording we start."""
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%d-%H%M%S")
        parts = [f"hotline-{stamp}-{uniqueid}"]
        if tag:
            parts.append(tag)
        if leg != "mix":
            parts.append(leg)
        return "-".join(parts) + ".wav"


@dataclass(frozen=True, slots=True)
class WavHeader:
    """What a RIFF/WAVE header says about the file."""

    riff_size: int
    data_offset: int
    data_size: int
    audio_format: int
    channels: int
    sample_rate: int
    bits_per_sample: int

    @classmethod
    def parse(cls, head: bytes) -> WavHeader | None:
        """Parse the first bytes of a file (4 KiB is plenty); ``None`` if it is not WAV
        or its header cannot be read yet."""
        try:
            riff = scan_bytes(head)
        except AudioError:
            return None
        if riff is None or riff.fmt is None or riff.data_offset is None:
            return None
        fmt = riff.fmt
        return cls(
            riff.riff_size,
            riff.data_offset,
            riff.data_size,
            fmt.tag,
            fmt.channels,
            fmt.sample_rate,
            fmt.bits,
        )

    def finalised(self, file_size: int) -> bool:
        """The writer filled in the sizes: they match the file's length (the data may be
        followed by one pad byte, or by trailing chunks)."""
        if self.riff_size == 0 or (self.data_size == 0 and file_size > self.data_offset):
            return False
        end = self.data_offset + self.data_size
        return self.riff_size + 8 == file_size and end <= file_size

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * self.channels * max(self.bits_per_sample // 8, 1)

    def duration(self, file_size: int | None = None) -> float:
        """Seconds of audio by the header (or by the file's length when the header's sizes
        were never filled in)."""
        rate = self.bytes_per_second
        if rate <= 0:
            return 0.0
        size = self.data_size
        if file_size is not None and (size == 0 or self.data_offset + size > file_size):
            size = max(file_size - self.data_offset, 0)
        return size / rate
