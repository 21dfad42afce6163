"""The recording of one call: a two-channel 16-bit PCM WAV at 8 kHz.

Channel 1 is what the caller sent, channel 2 what the caller heard (the recording
notice, then a bridged operator), both on one timeline that starts when the call was
answered. Audio is placed by sample position (out-of-order writes are fine within
``horizon`` samples of the newest position) and written to disk in blocks. Gaps are
silence.

Each block is written as it fills and a ``DiskSync`` brings it to the disk at once,
off the event loop: after ``kill -9`` or a power cut at most the last ``horizon +
block`` of audio (1.5 s by default) plus one sync pass is missing.

The file is written under a hidden ``.NAME.part`` name and appears under its final
name only once it is complete and synced, so nothing ever picks up half a recording.
The final name is never reused: an existing file with that name is left alone. What a
recording that could not be closed normally (a full disk, a crash) left on disk is
given its header and final name by ``salvage``: a cut recording is still evidence.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import struct
import threading
import time
from pathlib import Path

from hotline.rtp import g711
from hotline.rtp.g711 import Samples

RATE = 8000
CHANNELS = 2
CALLER, SENT = 0, 1
_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")
_MAX_AHEAD = 60 * RATE
_FRAME = 2 * CHANNELS  # bytes per frame

log = logging.getLogger(__name__)
_libc = ctypes.CDLL(None, use_errno=True)
_syncfs = getattr(_libc, "syncfs", None)


MIN_PASS_INTERVAL = 0.1
"""Seconds from the start of one sync pass to the next, at the most."""


class DiskSync:
    """Brings the blocks every recording wrote to the disk, on a thread of its own.

    One ``fdatasync`` per call and block costs 2-3 ms each on a virtual disk: 500 calls
    writing two blocks a second would need 2.7 s of syncing per second. Instead, each
    pass syncs the recordings' file system once (``syncfs(2)``), for every call at once,
    and starts as soon as a block was written since the last one began. ``bench/sip.py``
    prints what it costs at 500 calls. ``stop()`` ends the thread after a last pass.
    """

    def __init__(self, directory: Path) -> None:
        self._fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        self._pending = threading.Event()
        self._stopping = False
        self.passes = 0
        self.seconds = 0.0
        """Time spent syncing, over every pass."""
        self.longest = 0.0
        self._thread = threading.Thread(target=self._run, name="recording-sync", daemon=True)
        self._thread.start()

    def written(self) -> None:
        """A block reached the kernel: sync it soon."""
        self._pending.set()

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._pending.set()
        self._thread.join()
        os.close(self._fd)

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._pending.clear()
            started = time.monotonic()
            self._sync()
            if self._stopping:
                return
            # Blocks keep coming at hundreds of calls: at most ten passes a second.
            time.sleep(max(0.0, started + MIN_PASS_INTERVAL - time.monotonic()))

    def _sync(self) -> None:
        started = time.perf_counter()
        try:
            sync_file_system(self._fd)
        except OSError as exc:  # the disk failed: the recorders' own writes say so too
            log.error("syncing the recordings to the disk failed: %s", exc)
        took = time.perf_counter() - started
        self.passes += 1
        self.seconds += took
        self.longest = max(self.longest, took)


def sync_file_system(fd: int) -> None:
    """``syncfs(2)`` on the file system holding ``fd`` (all of them where it is missing)."""
    if _syncfs is None:
        os.sync()
        return
    if _syncfs(fd) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def wav_header(frames: int, *, rate: int = RATE, channels: int = CHANNELS) -> bytes:
    data = frames * channels * 2
    return _HEADER.pack(
        b"RIFF",
        36 + data,
        b"WAVE",
        b"fmt ",
        16,
        1,
        channels,
        rate,
        rate * channels * 2,
        channels * 2,
        16,
        b"data",
        data,
    )


class CallRecorder:
    def __init__(
        self,
        path: Path,
        *,
        horizon: int = RATE,
        block: int = RATE // 2,
        disk: DiskSync | None = None,
    ) -> None:
        self.path = path
        self.disk = disk
        """Syncs each block written; without it a block reaches only the kernel (it
        survives ``kill -9``, not a power cut) until ``close``."""
        self.partial = partial_name(path)
        self.horizon = horizon
        self.block = block
        self.frames = 0
        """Frames (sample pairs) written to disk so far."""
        self.discarded = 0
        """Samples that arrived absurdly far ahead, or too late even to be written into
        what is on disk (more than ``max_late`` behind it)."""
        self.late = 0
        """Samples that arrived after their place was on disk, and were written into it
        there (a burst after the network held packets back)."""
        self.max_late = 30 * RATE
        self.furthest = 0
        """Just past the furthest sample placed, on either channel."""
        # Interleaved 16-bit little-endian frames from ``frames`` on; zero bytes are silence.
        self._buffer = bytearray(_FRAME * (horizon + 4 * block))
        # Unbuffered: each block reaches the kernel when written, and the disk when
        # ``disk`` synced it; a killed process leaves what was written (``salvage``).
        self._file = open(self.partial, "xb+", buffering=0)  # noqa: SIM115 - owned until close()
        _write_all(self._file, wav_header(0))
        self._closed = False
        self._abandoned = False

    def put(self, channel: int, position: int, samples: Samples) -> None:
        """Place 16-bit ``samples`` on ``channel`` at ``position`` (samples since answer)."""
        pcm = samples.astype("<i2").tobytes()
        self._place(channel, position, len(samples), pcm[0::2], pcm[1::2])

    def put_g711(self, channel: int, position: int, payload: bytes, codec: str) -> None:
        """Decode a G.711 payload straight into place (the per-packet path)."""
        low = payload.translate(g711.LOW_BYTES[codec])
        high = payload.translate(g711.HIGH_BYTES[codec])
        self._place(channel, position, len(payload), low, high)

    def _place(self, channel: int, position: int, count: int, low: bytes, high: bytes) -> None:
        if self._closed or not count:
            return
        start = position - self.frames
        if start < 0:
            skip = min(-start, count)
            if -start <= self.max_late and self._patch(channel, position, low[:skip], high[:skip]):
                self.late += skip
            else:
                self.discarded += skip
            low, high, count, start = low[skip:], high[skip:], count - skip, 0
            if not count:
                return
        end = start + count
        if end > _MAX_AHEAD:
            self.discarded += count
            return
        self.furthest = max(self.furthest, self.frames + end)
        if end * _FRAME > len(self._buffer):
            self._buffer.extend(bytes(max(end * _FRAME - len(self._buffer), len(self._buffer))))
        at = start * _FRAME + 2 * channel
        self._buffer[at : end * _FRAME : _FRAME] = low
        self._buffer[at + 1 : end * _FRAME : _FRAME] = high

    def _patch(self, channel: int, position: int, low: bytes, high: bytes) -> bool:
        """Write late samples of ``channel`` into the frames already on disk at
        ``position`` (the other channel's samples stay as they are); False if the file
        cannot take them."""
        if self._closed or position < 0:
            return False
        offset = _HEADER.size + position * _FRAME
        size = len(low) * _FRAME
        try:
            frames = bytearray(os.pread(self._file.fileno(), size, offset))
            if len(frames) != size:
                return False
            frames[2 * channel :: _FRAME] = low
            frames[2 * channel + 1 :: _FRAME] = high
            done = 0
            while done < size:
                done += os.pwrite(self._file.fileno(), frames[done:], offset + done)
        except OSError:
            return False
        if self.disk is not None:
            self.disk.written()
        return True

    def advance(self, position: int) -> None:
        """The wall clock is at ``position``: write out what is older than the horizon."""
        ready = position - self.horizon - self.frames
        if ready >= self.block and not self._closed:
            self._write(ready)
            if self.disk is not None:
                self.disk.written()

    def close(self, end: int) -> Path:
        """Write everything up to ``end`` (pad with silence, cut what lies beyond but audio
        up to a second past it, which a late first packet puts there), sync,
        and give the file its final name. Returns that name. After ``abandon`` it keeps
        what reached the disk before the failure (``salvage``)."""
        if self._abandoned:
            self._abandoned = False
            self.path, self.frames = salvage(self.partial, self.path)
            return self.path
        if self._closed:
            return self.path
        # Audio a late first packet anchored after the call's clock runs past its end
        # by as much: it is kept, not cut (up to a second).
        end = max(end, min(self.furthest, end + RATE))
        remaining = max(0, end - self.frames)
        if remaining * _FRAME > len(self._buffer):
            self._buffer.extend(bytes(remaining * _FRAME - len(self._buffer)))
        self._write(remaining)
        self._file.seek(0)
        _write_all(self._file, wav_header(self.frames))
        os.fsync(self._file.fileno())
        self._file.close()
        self._closed = True
        self.path = _publish(self.partial, self.path)
        return self.path

    def abandon(self) -> None:
        """Stop writing after a failure; ``close`` later keeps what is on disk."""
        if not self._closed:
            self._closed = self._abandoned = True
            with contextlib.suppress(OSError):
                self._file.close()

    def _write(self, count: int) -> None:
        if count <= 0:
            return
        size = count * _FRAME
        with memoryview(self._buffer) as view:
            _write_all(self._file, view[:size])
        del self._buffer[:size]
        self._buffer.extend(bytes(size))
        self.frames += count


def _write_all(file: io.FileIO, data: bytes | memoryview) -> None:
    """An unbuffered write may take only part of the data: write the rest."""
    with memoryview(data) as view:
        done = 0
        while done < len(view):
            done += file.write(view[done:]) or 0


def partial_name(path: Path) -> Path:
    """Where the recording that will be ``path`` is written while it runs."""
    return path.with_name(f".{path.name}.part")


def final_name(partial: Path) -> Path:
    """The inverse of ``partial_name``."""
    name = partial.name
    if not (name.startswith(".") and name.endswith(".part")):
        raise ValueError(f"{partial} is not a partial recording")
    return partial.with_name(name[1 : -len(".part")])


def salvage(partial: Path, wanted: Path) -> tuple[Path, int]:
    """Finish a partial recording as it stands: cut a torn last frame, write the header
    for the frames on disk, sync, and give it its final name (never replacing a file).
    Needs no new disk space. Returns the final path and the number of frames."""
    with open(partial, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        frames = max(0, size - _HEADER.size) // _FRAME
        f.truncate(_HEADER.size + frames * _FRAME)
        f.seek(0)
        f.write(wav_header(frames))
        f.flush()
        os.fsync(f.fileno())
    return _publish(partial, wanted), frames


def _publish(partial: Path, wanted: Path) -> Path:
    """Link the finished file to its final name without ever replacing a file."""
    for attempt in range(100):
        target = wanted if attempt == 0 else wanted.with_stem(f"{wanted.stem}-{attempt}")
        try:
            os.link(partial, target)
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: check, then rename
            if target.exists():
                continue
            os.rename(partial, target)
            return target
        os.unlink(partial)
        return target
    raise FileExistsError(f"no free name for {wanted}")
