"""The media socket hands each datagram over with the time it reached the host, also
when the event loop was blocked while it waited; the stamp is turned onto the loop's
clock and a stamp that cannot be a delay is not trusted."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import pytest

from hotline.rtp.endpoint import MAX_DELAY, RtpEndpoint, keep_stamping, on_loop_clock

pytestmark = pytest.mark.timeout(30)


class Received:
    def __init__(self) -> None:
        self.transport: Any = None
        self.items: list[tuple[bytes, float | None]] = []
        self.errors: list[Exception] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(
        self, data: bytes, addr: tuple[str | int, ...], arrival: float | None = None
    ) -> None:
        self.items.append((data, arrival))

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)


async def _stamped_on_arrival(endpoint: RtpEndpoint, protocol: Received) -> None:
    """Until a datagram that waited 50 ms is stamped 50 ms back: the kernel turns its
    stamps on for the host a moment after the first socket asks (``keep_stamping``)."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = endpoint.get_extra_info("sockname")
    loop = asyncio.get_running_loop()
    try:
        for _ in range(40):
            protocol.items.clear()
            peer.sendto(b"probe", target)
            time.sleep(0.05)  # noqa: ASYNC251 - the probe waits in the socket
            await asyncio.sleep(0.01)
            stamp = protocol.items[0][1] if protocol.items else None
            if stamp is not None and loop.time() - stamp > 0.04:
                protocol.items.clear()
                return
        raise AssertionError("the kernel never stamped a datagram as it arrived")
    finally:
        peer.close()


async def test_a_line_keeps_the_kernel_stamping() -> None:
    """With one socket kept asking, each new socket's very first datagram is stamped as
    it arrived, not when it was read (without it, one fresh socket in eight was not)."""
    assert keep_stamping() and keep_stamping()  # idempotent: one socket, kept
    await asyncio.sleep(0.1)  # the host turns the stamps on a moment after
    loop = asyncio.get_running_loop()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(8):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        protocol = Received()
        endpoint = RtpEndpoint(sock, protocol, loop)
        peer.sendto(b"first", endpoint.get_extra_info("sockname"))
        time.sleep(0.05)  # noqa: ASYNC251 - it waits in the socket
        await asyncio.sleep(0.01)
        ((_data, stamp),) = protocol.items
        assert stamp is not None and loop.time() - stamp > 0.04
        endpoint.close()
    peer.close()


async def test_packets_queued_behind_a_blocked_loop_keep_their_arrival_times() -> None:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    protocol = Received()
    endpoint = RtpEndpoint(sock, protocol, loop)
    assert protocol.transport is endpoint
    assert endpoint.stamped  # Linux on the generic ABI: every machine this runs on
    await _stamped_on_arrival(endpoint, protocol)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = endpoint.get_extra_info("sockname")

    before = loop.time()
    peer.sendto(b"first", target)
    time.sleep(0.3)  # noqa: ASYNC251 - the loop is blocked: both wait in the socket
    peer.sendto(b"second", target)
    for _ in range(100):
        await asyncio.sleep(0.01)
        if len(protocol.items) == 2:
            break
    read_at = loop.time()
    (first, t1), (second, t2) = protocol.items
    assert (first, second) == (b"first", b"second")
    assert t1 is not None and t2 is not None
    assert before <= t1 < t2 <= read_at
    assert 0.28 < t2 - t1 < 0.35  # as sent, not as read (read together)

    endpoint.sendto(b"back", peer.getsockname())
    assert peer.recv(64) == b"back"
    endpoint.close()
    assert endpoint.is_closing()
    endpoint.sendto(b"after close", peer.getsockname())  # nothing, no error
    peer.close()
    assert protocol.errors == []


def test_a_stamp_that_cannot_be_a_delay_is_replaced_by_now() -> None:
    assert on_loop_clock(None, 100.0, 5000.0) == 100.0
    assert on_loop_clock(4999.75, 100.0, 5000.0) == pytest.approx(99.75)
    assert on_loop_clock(5000.5, 100.0, 5000.0) == 100.0  # from the future
    assert on_loop_clock(5000.0 - MAX_DELAY - 1, 100.0, 5000.0) == 100.0  # a stepped clock
