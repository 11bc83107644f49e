"""HTTPS on the registry's port with the :class:`ssl.SSLContext` that was validated.

uvicorn builds its own context from file paths (one CA file, no minimum version, no cipher
list), so the registry gives it no TLS settings. :class:`HTTPSServer` is uvicorn's server with
one change: it accepts connections itself. Each new connection is watched, without reading,
until its first byte arrives (``MSG_PEEK``). A TLS record starts with 0x16 (handshake): the
socket goes to ``loop.connect_accepted_socket(..., ssl=context)`` — uvloop's own TLS, with our
context — and on to uvicorn's HTTP protocol as usual. A letter is plain HTTP sent to the TLS
port, which gets Go's ``net/http`` answer (as registry:2 gives): ``400 Bad Request``, "Client
sent an HTTP request to an HTTPS server." Anything else is closed. The cost is one ``recv``
with ``MSG_PEEK`` per connection, before the handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

import uvicorn

__all__ = ["PLAIN_HTTP_ANSWER", "HTTPSServer"]

log = logging.getLogger("dockyard.registry")

#: What Go's net/http writes (and closes) when a TLS listener receives plain HTTP.
PLAIN_HTTP_ANSWER = (
    b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"
)
#: A connection that sends nothing, or does not finish its handshake, is closed after this.
HANDSHAKE_TIMEOUT = 60.0
#: Connections accepted per wake-up of a listening socket, so one busy port cannot starve.
_ACCEPT_BATCH = 64
_TLS_HANDSHAKE = 0x16


class HTTPSServer(uvicorn.Server):
    """uvicorn's server for ``sockets`` (already listening), speaking TLS with ``context``."""

    def __init__(self, config: uvicorn.Config, context: ssl.SSLContext) -> None:
        super().__init__(config)
        self.context = context
        self._listeners: list[socket.socket] = []

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        if not sockets:
            raise ValueError("HTTPSServer serves sockets the caller has bound")
        self._listeners = sockets
        await super().serve(sockets=sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's start-up (lifespan) without its listeners; ours take their place
        await super().startup(sockets=[])
        loop = asyncio.get_running_loop()
        config, state = self.config, self.server_state

        def create_protocol() -> asyncio.Protocol:  # as uvicorn's own startup() does
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state=self.lifespan.state, _loop=loop
            )

        self.servers = [
            _Acceptor(sock, create_protocol, self.context, loop)  # type: ignore[misc]
            for sock in self._listeners
        ]


class _Acceptor:
    """Accepts on one listening socket; quacks like the ``asyncio.Server`` uvicorn stops."""

    def __init__(
        self,
        sock: socket.socket,
        protocol: Callable[[], asyncio.Protocol],
        context: ssl.SSLContext,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.sock = sock
        self.protocol = protocol
        self.context = context
        self.loop = loop
        self._waiting: dict[socket.socket, asyncio.TimerHandle] = {}
        self._handshakes: set[asyncio.Task[None]] = set()
        sock.setblocking(False)
        loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # out of descriptors, say: the next wake-up tries again
                log.warning("cannot accept a connection: %s", exc)
                return
            conn.setblocking(False)
            self._waiting[conn] = self.loop.call_later(HANDSHAKE_TIMEOUT, self._drop, conn)
            self.loop.add_reader(conn.fileno(), self._first_byte, conn)

    def _first_byte(self, conn: socket.socket) -> None:
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            first = b""
        self._unwatch(conn)
        if first and first[0] == _TLS_HANDSHAKE:
            task = self.loop.create_task(self._start_tls(conn))
            self._handshakes.add(task)
            task.add_done_callback(self._handshakes.discard)
        elif first.isalpha():  # a request line (GET, HEAD, POST …) sent without TLS
            _answer_plain_http(conn)
        else:
            conn.close()

    async def _start_tls(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(
                self.protocol, conn, ssl=self.context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except (TimeoutError, OSError, EOFError):
            conn.close()  # a failed handshake: the client had the alert

    def _unwatch(self, conn: socket.socket) -> None:
        timer = self._waiting.pop(conn, None)
        if timer is not None:
            timer.cancel()
        with contextlib.suppress(OSError, ValueError):
            self.loop.remove_reader(conn.fileno())

    def _drop(self, conn: socket.socket) -> None:
        self._unwatch(conn)
        conn.close()

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.loop.remove_reader(self.sock.fileno())
        for conn in list(self._waiting):
            self._drop(conn)
        for task in self._handshakes:
            task.cancel()

    async def wait_closed(self) -> None:
        if self._handshakes:
            await asyncio.wait(list(self._handshakes))


def _answer_plain_http(conn: socket.socket) -> None:
    """Go's answer; the request is read first so that closing sends FIN, not RST."""
    with contextlib.suppress(OSError):
        for _ in range(16):
            if not conn.recv(65536):
                break
    with contextlib.suppress(OSError):
        conn.send(PLAIN_HTTP_ANSWER)
        conn.shutdown(socket.SHUT_WR)
    conn.close()
