"""The layout of disc archives, pure: media sizes, the files of each case, ISO 9660
names beside the Joliet and Rock Ridge ones, and the split into volumes.

Every case's files go on one disc (a case is never split across discs); cases fill
volumes in order, and a case that does not fit on one disc of the chosen media is
refused, naming it. Sizes are counted in 2048-byte sectors with room for the directory
records of the three name trees, a little more than an image will take.

Names on a disc (Rock Ridge for Linux and macOS, Joliet for Windows)::

    MANIFEST.json  MANIFEST.json.sig  public-key.pem  VERIFY.txt  verify.py
    HL-2026-000001/案件.json              the case
    HL-2026-000001/审计记录.jsonl         its audit events
    HL-2026-000001/录音/1-mix-e5837c844cfb.wav
    HL-2026-000001/转写/1-v2.json        every version of every transcript
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hotline.errors import InputError
from hotline.evidence.backend import ObjectRef

SECTOR = 2048
MEDIA: dict[str, int] = {
    "cd": 359_847 * SECTOR,  # 80-minute CD-R
    "dvd": 2_295_104 * SECTOR,  # DVD±R, single layer (4.7 GB)
    "dvd-dl": 4_171_712 * SECTOR,  # DVD+R DL (8.5 GB)
    "bd25": 12_219_392 * SECTOR,  # BD-R (25 GB)
    "bd50": 24_438_784 * SECTOR,  # BD-R DL (50 GB)
}
"""What each medium holds, in bytes (its sectors times 2048)."""

_EMPTY_IMAGE = 40 * SECTOR
"""System area, volume descriptors, path tables and root directories, with room."""
_PER_ENTRY = 640
"""Directory records of one file or directory in the ISO 9660 and Joliet trees, Rock
Ridge names and attributes included (about 250 bytes are used with our names)."""
_PER_DIRECTORY = 2 * SECTOR
"""Each directory's own extent in the ISO 9660 and the Joliet tree."""
MANIFEST_ENTRY = 320
"""A file's line in ``MANIFEST.json`` (path, size, SHA-256, kind: about 200 bytes)."""

Kind = Literal["recording", "transcript", "case", "audit", "tool"]
_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)
_ISO_CHARS = re.compile(r"[^A-Z0-9_]")


def media_bytes(value: str) -> int:
    """``dvd``, ``bd25``… or a size in bytes (``734003200``, ``700M``, ``4G``)."""
    name = value.strip().lower()
    if name in MEDIA:
        return MEDIA[name]
    match = _SIZE.fullmatch(name)
    if match is None:
        raise InputError(
            f"unknown media {value!r}: one of {', '.join(MEDIA)}, or a size such as 700M"
        )
    size = (
        int(match.group(1))
        * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[match.group(2).lower()]
    )
    size -= size % SECTOR
    if size < 64 * SECTOR:
        raise InputError(f"media of {value} cannot hold even an empty disc (128 KiB or more)")
    return size


def human(size: int) -> str:
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def sectors(size: int) -> int:
    return -(-size // SECTOR)


@dataclass(frozen=True, slots=True)
class DiscFile:
    """A file on a disc: its path (``/``-separated, no leading slash), size, SHA-256,
    and where its bytes come from (``data`` in memory, or ``sealed``: a sealed
    recording in the evidence store)."""

    path: str
    size: int
    sha256: str
    kind: Kind
    data: bytes | None = None
    sealed: ObjectRef | None = None


@dataclass(frozen=True, slots=True)
class CaseBundle:
    number: str
    files: tuple[DiscFile, ...]

    @property
    def directories(self) -> frozenset[str]:
        return directories_of(f.path for f in self.files)

    @property
    def size(self) -> int:
        """What the case takes on a disc, its lines in the manifest included."""
        return estimate(self.files, self.directories) + MANIFEST_ENTRY * len(self.files)


def directories_of(paths: Iterable[str]) -> frozenset[str]:
    found: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            found.add("/".join(parts[:depth]))
    return frozenset(found)


def estimate(files: Iterable[DiscFile], directories: Iterable[str] = ()) -> int:
    """Bytes these files and directories add to an image (a little more, never less)."""
    total = sum(sectors(f.size) * SECTOR + _PER_ENTRY for f in files)
    return total + sum(_PER_DIRECTORY + _PER_ENTRY for _ in directories)


@dataclass(slots=True)
class Volume:
    number: int
    cases: list[CaseBundle] = field(default_factory=list)

    @property
    def numbers(self) -> list[str]:
        return [c.number for c in self.cases]


def plan(bundles: Sequence[CaseBundle], capacity: int, fixed: int) -> list[Volume]:
    """Cases into volumes, in order. ``fixed``: what every volume holds besides the
    cases (the manifest, the verifier and its notes)."""
    room = capacity - _EMPTY_IMAGE - fixed
    volumes: list[Volume] = []
    used = 0
    for bundle in bundles:
        need = bundle.size
        if need > room:
            raise InputError(
                f"case {bundle.number} needs {human(need)}, more than one disc of this "
                f"media holds ({human(max(room, 0))} for cases): choose larger media "
                "(--media bd25)"
            )
        if not volumes or used + need > room:
            volumes.append(Volume(len(volumes) + 1))
            used = 0
        volumes[-1].cases.append(bundle)
        used += need
    return volumes


def image_estimate(files: Sequence[DiscFile]) -> int:
    """The size of an image holding ``files``."""
    return _EMPTY_IMAGE + estimate(files, directories_of(f.path for f in files))


# --- ISO 9660 names ------------------------------------------------------------------------


class IsoNames:
    """ISO 9660 (interchange level 3) names for the Joliet / Rock Ridge paths of one
    image: upper-case d-characters, unique in their directory, as close to the real
    name as those allow (a reader without Joliet or Rock Ridge still finds its way)."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {"": ""}
        self._taken: dict[str, set[str]] = {}

    def directory(self, path: str) -> str:
        """The ISO path (``/HL_2026_000001/REC``) of a directory path."""
        if path in self._names:
            return self._names[path] or "/"
        parent, _, name = path.rpartition("/")
        iso_parent = self.directory(parent) if parent else ""
        stem = _iso_part(name, 31) or "DIR"
        iso = f"{iso_parent.rstrip('/')}/{self._unique(iso_parent, stem, '')}"
        self._names[path] = iso
        return iso

    def file(self, path: str) -> str:
        """The ISO path (``/HL_2026_000001/CASE.JSON;1``) of a file path."""
        parent, _, name = path.rpartition("/")
        iso_parent = self.directory(parent) if parent else ""
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        ext = _iso_part(ext, 8)
        stem = _iso_part(stem, 29 - len(ext) - 1) or "FILE"
        return f"{iso_parent.rstrip('/')}/{self._unique(iso_parent, stem, ext)};1"

    def _unique(self, parent: str, stem: str, ext: str) -> str:
        taken = self._taken.setdefault(parent, set())
        candidate, n = stem, 1
        while (full := f"{candidate}.{ext}" if ext else candidate) in taken:
            n += 1
            candidate = f"{stem[: 29 - len(ext) - len(str(n)) - 1]}_{n}"
        taken.add(full)
        return full


def _iso_part(text: str, limit: int) -> str:
    cleaned = _ISO_CHARS.sub("_", text.upper())
    if not cleaned.strip("_"):
        return ""
    return cleaned[:limit]
