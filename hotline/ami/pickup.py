"""Picking recordings up from the shared directory (the only file I/O of the source).

* ``wait_closed``: poll a recording until its WAV header is final and its size has not
  changed for ``stable_for`` seconds (a file that stops growing; one event is not
  trusted), or until ``timeout``.
* ``scan``: the finished-looking files of the recordings directory, for the orphan scan.
* ``FileLedger``: the append-only list of files already handed to the sink, so a restart
  does not offer the whole archive again.

Blocking calls (``stat``, reading a header) run in worker threads: the directory is
often a network share.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from hotline.ami.model import FileReport
from hotline.ami.recordings import WavHeader

__all__ = ["FileLedger", "probe", "scan", "wait_closed"]

log = logging.getLogger(__name__)

_HEAD = 4096
_MAX_DEPTH = 4


@dataclass(frozen=True, slots=True)
class _Probe:
    size: int
    mtime: float
    mtime_ns: int
    header: WavHeader | None

    def closed(self) -> bool:
        # Not a WAV (gsm, wav49…): only "it stopped growing" can tell.
        return self.header is None or self.header.finalised(self.size)


def probe(path: Path) -> _Probe | None:
    """Size, time and header of ``path``; ``None`` if it does not exist (yet)."""
    try:
        with path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            head = handle.read(_HEAD)
    except FileNotFoundError:
        return None
    header = WavHeader.parse(head) if path.suffix.lower() == ".wav" else None
    return _Probe(stat.st_size, stat.st_mtime, stat.st_mtime_ns, header)


def _report(name: str, path: Path, found: _Probe, closed: bool) -> FileReport:
    return FileReport(name, path, found.size, found.mtime, found.header, closed)


async def wait_closed(
    path: Path, *, poll: float, stable_for: float, give_up_after: float
) -> FileReport | None:
    """Wait until ``path`` is closed; after ``give_up_after`` s return what is there (``closed``
    false) or ``None`` when the file never appeared."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after
    last: tuple[int, int] | None = None
    since = loop.time()
    while True:
        found = await asyncio.to_thread(probe, path)
        now = loop.time()
        if found is not None:
            key = (found.size, found.mtime_ns)
            if key != last:
                last, since = key, now
            if found.closed() and now - since >= stable_for:
                return _report(path.name, path, found, True)
        if now >= deadline:
            return None if found is None else _report(path.name, path, found, False)
        await asyncio.sleep(poll)


def scan(
    directory: Path, pattern: str, *, now: float, min_age: float, max_age: float
) -> list[FileReport]:
    """Files under ``directory`` matching ``pattern`` whose last change is between
    ``min_age`` and ``max_age`` seconds old, oldest first (blocking)."""
    found: list[FileReport] = []
    root = str(directory)
    for folder, subfolders, files in os.walk(root):
        depth = folder[len(root) :].count(os.sep)
        if depth >= _MAX_DEPTH:
            subfolders.clear()
        for name in files:
            if not fnmatch.fnmatch(name, pattern):
                continue
            path = Path(folder, name)
            result = probe(path)
            if result is None or not min_age <= now - result.mtime <= max_age:
                continue
            relative = path.relative_to(directory).as_posix()
            found.append(_report(relative, path, result, result.closed()))
    found.sort(key=lambda report: report.mtime)
    return found


class FileLedger:
    """Append-only record of the recordings already handed over, one per line
    (``size<TAB>name``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[tuple[int, str]] | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        seen: set[tuple[int, str]] = set()
        try:
            text = self.path.read_text("utf-8")
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            size, sep, name = line.partition("\t")
            if sep and size.isdecimal():
                seen.add((int(size), name))
        with self._lock:
            self._seen = seen

    def seen(self, name: str, size: int) -> bool:
        if self._seen is None:
            self.load()
        assert self._seen is not None
        return (size, name) in self._seen

    def add(self, name: str, size: int) -> None:
        if "\n" in name or "\t" in name:
            return
        if self._seen is None:
            self.load()
        with self._lock:
            assert self._seen is not None
            if (size, name) in self._seen:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(f"{size}\t{name}\n")
            self._seen.add((size, name))
