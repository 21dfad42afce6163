"""The UDP socket of one call's media, read with the time each packet reached the host.

asyncio's datagram transport tells a protocol nothing of when a datagram arrived: the
time it is handed over is when the event loop got round to it. After a stall of the
loop (a slow write, a garbage collection, a burst of calls being set up) a queue of
packets that came in 20 ms apart is read all at once. The first packet of a call anchors
its timeline (``hotline.rtp.timeline``), so a stall at answer made every later packet
look early, the timeline anchored again, and the caller's audio was written over itself
(a 0.3 s stall was enough).

On Linux the kernel stamps every datagram as it arrives (``SO_TIMESTAMPNS``, socket(7));
this endpoint reads with ``recvmsg`` and hands the protocol that time on the loop's
clock. Where the kernel gives no stamp the time of reading stands in, as before. Sending
is a plain non-blocking ``sendto``: a 20 ms frame that cannot go out at once is dropped
and counted (``dropped``), as it would be stale by the next try.
"""

from __future__ import annotations

import asyncio
import platform
import socket
import struct
import sys
import time
from typing import Any, Protocol

MAX_DATAGRAM = 8192
"""Up to a second of G.711 in one packet (a 20 ms one is 172 bytes); anything longer is
cut and fails to parse as RTP."""
MAX_BATCH = 512
"""Datagrams read in one turn at most: ten seconds of one 20 ms stream."""
MAX_DELAY = 10.0
"""A stamp further back than this (seconds) is a stepped wall clock, not a delay."""

# socket(7): the value of SO_TIMESTAMPNS (and of its control message) in the generic
# Linux ABI; Python does not name it. Architectures with their own values are left out.
_SO_TIMESTAMPNS = 35
_GENERIC_ABI = {"x86_64", "i686", "aarch64", "armv7l", "armv8l", "riscv64", "s390x", "ppc64le"}
_TIMESPEC = {16: struct.Struct("@qq"), 8: struct.Struct("@ii")}


class Receiver(Protocol):
    def connection_made(self, transport: Any) -> None: ...

    def datagram_received(
        self, data: bytes, addr: tuple[str | int, ...], arrival: float | None = None
    ) -> None: ...

    def error_received(self, exc: Exception) -> None: ...


def kernel_stamps(sock: socket.socket) -> bool:
    """Ask the kernel to stamp each datagram ``sock`` receives; False where it cannot."""
    if not sys.platform.startswith("linux") or platform.machine() not in _GENERIC_ABI:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
    except OSError:
        return False
    return True


_keeper: socket.socket | None = None


def keep_stamping() -> bool:
    """Keep the kernel stamping datagrams for as long as this process runs.

    Linux turns its receive stamps on for the whole host when the first socket asks for
    them and off when the last one closes, and turning them on is deferred (a static key
    flipped from a work queue): a datagram that arrives in that moment carries no stamp
    and is stamped when it is read, as if it had not waited (seen here on one run in
    eight of a fresh process). One socket that keeps asking, opened when the line
    starts, leaves the stamps on between calls, so each call's first packets are
    stamped as they arrive. False where the kernel gives no stamps."""
    global _keeper
    if _keeper is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        if not kernel_stamps(sock):
            sock.close()
            return False
        _keeper = sock
    return True


def stamp_of(ancillary: list[tuple[int, int, bytes]]) -> float | None:
    """The wall-clock arrival (seconds) in a datagram's control messages, if any."""
    for level, kind, data in ancillary:
        timespec = _TIMESPEC.get(len(data))
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and timespec is not None:
            seconds, nanoseconds = timespec.unpack(data)
            return float(seconds + nanoseconds / 1e9)
    return None


def on_loop_clock(stamp: float | None, loop_now: float, wall_now: float) -> float:
    """A wall-clock stamp as a time on the loop's clock: never after now, and ``now``
    itself for a stamp that cannot be a delay (none, from the future, too old)."""
    if stamp is None:
        return loop_now
    delay = wall_now - stamp
    return loop_now - delay if 0.0 <= delay <= MAX_DELAY else loop_now


class RtpEndpoint:
    """One bound UDP socket, read on the event loop into ``protocol``. Owns the socket."""

    def __init__(
        self, sock: socket.socket, protocol: Receiver, loop: asyncio.AbstractEventLoop
    ) -> None:
        sock.setblocking(False)
        self.stamped = kernel_stamps(sock) and keep_stamping()
        """The kernel stamps arrivals (else the time of reading is the arrival)."""
        self.dropped = 0
        """Frames not sent: the socket's buffer was full, or the send failed."""
        self._sock = sock
        self._protocol = protocol
        self._loop = loop
        self._ancillary = socket.CMSG_SPACE(16) if self.stamped else 0
        self._closed = False
        loop.add_reader(sock.fileno(), self._readable)
        protocol.connection_made(self)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sockname":
            return self._sock.getsockname()
        return default

    def is_closing(self) -> bool:
        return self._closed

    def sendto(self, data: bytes, addr: Any) -> bool:
        """Send one datagram now; False if it did not go out (dropped, or an error)."""
        if self._closed:
            return False
        try:
            self._sock.sendto(data, addr)
        except (BlockingIOError, InterruptedError):
            self.dropped += 1
            return False
        except OSError as exc:
            self.dropped += 1
            self._protocol.error_received(exc)
            return False
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()

    def _readable(self) -> None:
        # Everything waiting, before the loop runs its timers: after a stall the queued
        # packets must be placed before the recorder's clock writes their place out.
        received: list[tuple[bytes, Any, float | None]] = []
        for _ in range(MAX_BATCH):
            try:
                data, ancillary, _, addr = self._sock.recvmsg(MAX_DATAGRAM, self._ancillary)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # an ICMP error queued on the socket: one per read
                self._protocol.error_received(exc)
                break
            received.append((data, addr, stamp_of(ancillary) if ancillary else None))
        loop_now, wall_now = self._loop.time(), time.time()
        for data, addr, stamp in received:
            if self._closed:
                return
            self._protocol.datagram_received(data, addr, on_loop_clock(stamp, loop_now, wall_now))
