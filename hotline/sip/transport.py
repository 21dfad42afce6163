"""SIP over UDP and TCP for asyncio: thin protocols that hand bytes to the line.

UDP: one datagram is one message. TCP (RFC 3261 §18.3): a ``StreamFramer`` cuts the
stream by Content-Length; a connection that sends an unusable stream is closed.
Responses and in-dialog requests go back on the connection the peer opened.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, cast

from hotline.errors import SIPError, SIPProtocolError
from hotline.sip.address import URI
from hotline.sip.config import SIPConfig
from hotline.sip.events import Peer
from hotline.sip.message import StreamFramer

log = logging.getLogger(__name__)

Receive = Callable[[bytes, Peer], None]
Spawn = Callable[[Coroutine[Any, Any, None], str], None]


class DatagramTransport(asyncio.DatagramProtocol):
    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not subclass DatagramTransport (3.11).
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._receive(data, Peer("udp", str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: retransmission timers cope.
        log.debug("SIP UDP socket error: %s", exc)

    def send(self, data: bytes, peer: Peer) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(data, (peer.host, peer.port))


MAX_CONNECTIONS = 1024
"""TCP connections a line keeps open at once; one more is closed as it is accepted.
Twice the calls a line takes by default: each phone needs one, a trunk one for all."""
FIRST_MESSAGE_SECONDS = 32.0
"""A connection that has sent no SIP message this long after it opened is closed: a
phone opens one to send a request. Once one came, an idle connection stays (a call
on it may send nothing for hours, and its BYE comes back the same way)."""


class StreamConnections:
    """The TCP connections of one line, by the peer's address."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.connections: dict[Peer, asyncio.Transport] = {}
        self.refused = 0
        """Connections closed at once because ``MAX_CONNECTIONS`` were open."""
        self.first_message_seconds = FIRST_MESSAGE_SECONDS
        self.max_connections = MAX_CONNECTIONS

    def protocol(self) -> StreamTransport:
        return StreamTransport(self)

    def send(self, data: bytes, peer: Peer) -> bool:
        """False when no connection to ``peer`` is open."""
        transport = self.connections.get(peer)
        if transport is None or transport.is_closing():
            return False
        transport.write(data)
        return True

    async def connect(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(self.protocol, peer.host, peer.port)

    def close(self) -> None:
        for transport in list(self.connections.values()):
            transport.close()


class StreamTransport(asyncio.Protocol):
    def __init__(self, owner: StreamConnections) -> None:
        self._owner = owner
        self._framer = StreamFramer()
        self._transport: asyncio.Transport | None = None
        self._peer: Peer | None = None
        self._silent: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if len(self._owner.connections) >= self._owner.max_connections:
            # Each open connection is a file descriptor, as are the calls' recordings and
            # RTP sockets: idle connections must not use them all up.
            self._owner.refused += 1
            if self._owner.refused % 1000 == 1:
                log.warning(
                    "SIP TCP: %d connections open, closing new ones (%d so far)",
                    self._owner.max_connections,
                    self._owner.refused,
                )
            transport.close()
            return
        host, port = transport.get_extra_info("peername")[:2]
        self._transport, self._peer = transport, Peer("tcp", str(host), int(port))
        self._owner.connections[self._peer] = transport
        self._silent = asyncio.get_running_loop().call_later(
            self._owner.first_message_seconds, self._no_message
        )

    def _no_message(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            log.info("closing SIP TCP connection from %s: no message", self._peer)
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._transport is None or self._peer is None:
            return  # refused as it opened
        if self._silent is not None:
            self._silent.cancel()
            self._silent = None
        try:
            messages = self._framer.feed(data)
        except SIPProtocolError as exc:
            log.info(
                "closing SIP TCP connection from %s:%s: %s", self._peer.host, self._peer.port, exc
            )
            self._transport.close()
            return
        for message in messages:
            self._receive(message)

    def _receive(self, message: bytes) -> None:
        assert self._peer is not None
        self._owner._receive(message, self._peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._silent is not None:
            self._silent.cancel()
        if self._peer is not None and self._owner.connections.get(self._peer) is self._transport:
            del self._owner.connections[self._peer]


class Transports:
    """The line's SIP sockets (UDP and/or TCP on one port) and how to reach a peer."""

    def __init__(self, receive: Receive, spawn: Spawn, config: SIPConfig) -> None:
        self._receive = receive
        self._spawn = spawn
        self._config = config
        self._udp: DatagramTransport | None = None
        self._tcp = StreamConnections(receive)
        self._servers: list[asyncio.AbstractServer] = []
        self._ports: dict[str, int] = {}
        self._routes: dict[str, str] = {}

    @property
    def listening(self) -> tuple[str, ...]:
        return tuple(f"{t}:{self._config.host}:{p}" for t, p in self._ports.items())

    async def listen(self) -> None:
        """Bind every transport on one port (the configured one, or one the system
        picks that is free for both); ``SIPError`` says what to change."""
        loop = asyncio.get_running_loop()
        host, wanted = self._config.host, self._config.port
        for _attempt in range(20):
            port, self._ports = wanted, {}
            try:
                if "udp" in self._config.transports:
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: DatagramTransport(self._receive), local_addr=(host, port)
                    )
                    self._udp = cast(DatagramTransport, transport.get_protocol())
                    port = transport.get_extra_info("sockname")[1]
                    self._ports["udp"] = port
                if "tcp" in self._config.transports:
                    server = await loop.create_server(
                        self._tcp.protocol, host, port, reuse_address=True
                    )
                    self._servers.append(server)
                    self._ports["tcp"] = server.sockets[0].getsockname()[1]
                return
            except OSError as exc:
                self.close()
                if wanted != 0:
                    reason = os.strerror(exc.errno) if exc.errno else str(exc)
                    raise SIPError(
                        f"HOTLINE_SIP: cannot listen on {host}:{wanted} ({reason}); "
                        "choose another address, or set HOTLINE_SIP=off"
                    ) from exc
        raise SIPError(f"HOTLINE_SIP: found no free port on {host} for both UDP and TCP")

    def send(self, data: bytes, peer: Peer) -> None:
        if peer.transport == "udp":
            if self._udp is not None:
                self._udp.send(data, peer)
        elif not self._tcp.send(data, peer):
            self._spawn(self._connect_and_send(data, peer), f"sip-connect-{peer.host}:{peer.port}")

    async def _connect_and_send(self, data: bytes, peer: Peer) -> None:
        try:
            await asyncio.wait_for(self._tcp.connect(peer), 5.0)
        except (OSError, TimeoutError) as exc:
            log.warning("cannot open SIP TCP connection to %s:%s: %s", peer.host, peer.port, exc)
            return
        self._tcp.send(data, peer)

    async def resolve(self, uri: URI) -> URI:
        """``uri`` with its host name resolved once, so that no DNS lookup blocks the loop
        later (a name that does not resolve is kept; the registration then fails and
        is retried)."""
        try:
            ipaddress.ip_address(uri.host)
            return uri
        except ValueError:
            pass
        loop = asyncio.get_running_loop()
        try:
            family = socket.AF_INET6 if ":" in self._config.host else socket.AF_INET
            found = await loop.getaddrinfo(uri.host, uri.port or 5060, family=family)
        except OSError as exc:
            log.error("cannot resolve the SIP host %s: %s", uri.host, exc)
            return uri
        return replace(uri, host=str(found[0][4][0]))

    def local(self, peer: Peer) -> tuple[str, int]:
        """Our address as ``peer`` reaches us, for Via, Contact and SDP."""
        host = self._config.advertise_host or self._config.host
        if host in ("", "0.0.0.0", "::"):
            host = self._routes.get(peer.host) or self._route_to(peer.host)
        return host, self._ports.get(peer.transport) or next(iter(self._ports.values()))

    def _route_to(self, remote: str) -> str:
        """The local address the system would use to reach ``remote`` (no packet sent)."""
        family = socket.AF_INET6 if ":" in remote else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((remote, 9))
                local = str(probe.getsockname()[0])
            except OSError:
                local = "127.0.0.1"
        self._routes[remote] = local
        return local

    def close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers = []
        self._tcp.close()
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
        self._udp = None
