"""Bounds on receiving a request's head (request line and headers): the refusals the server
sends, and the clock that closes connections whose head takes too long.

The byte and count checks themselves live in the protocol (:mod:`._protocol`), where the
parser's bytes arrive; this module holds what they share with the sweep of slow heads.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from dockyard.registry.limits import Limits

__all__ = [
    "HeadClock",
    "HeadRefusal",
    "head_timed_out",
    "headers_too_large",
    "refusal",
    "request_line_too_long",
    "too_many_headers",
]


class HeadClock:
    """A coarse clock for one server's connections and a sweep, once a tick, of those that
    have waited longer than ``limits.header_timeout`` for a request's headers.

    A connection stamps its ``head_since`` from :attr:`now` (an attribute read, no system
    call per request) and clears it (None) once the head is in; the sweep calls
    ``head_timed_out()`` on the late ones. It never closes one early: it allows the timeout
    plus one tick."""

    __slots__ = ("_connections", "_handle", "_loop", "now", "tick", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.tick = min(1.0, max(timeout / 4, 0.05))
        self.now = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: Collection[object] = ()

    def start(self, loop: asyncio.AbstractEventLoop, connections: Collection[object]) -> None:
        """Begin sweeping ``connections`` (the server's live set) on ``loop``, once."""
        if self._handle is not None and self._loop is loop:
            return
        self._loop = loop
        self._connections = connections
        self.now = loop.time()
        self._handle = loop.call_later(self.tick, self._sweep)

    def _sweep(self) -> None:
        loop = self._loop
        assert loop is not None
        self.now = now = loop.time()
        deadline = now - self.timeout - self.tick
        late = [
            c
            for c in self._connections
            if isinstance(since := getattr(c, "head_since", None), float) and since < deadline
        ]
        for connection in late:
            connection.head_timed_out()  # type: ignore[attr-defined]
        if not loop.is_closed():
            self._handle = loop.call_later(self.tick, self._sweep)


class HeadRefusal(Exception):
    """Raised inside a parser callback to stop parsing a refused request (already answered)."""


def refusal(status: int, code: str, message: str) -> bytes:
    """A complete response that refuses a request before any handler saw it; the
    connection closes after it."""
    body = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
    return b"".join(
        (
            STATUS_LINE[status],
            b"content-type: application/json; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


def request_line_too_long(limits: Limits) -> bytes:
    return refusal(
        414,
        "SIZE_INVALID",
        f"the request line is longer than the {limits.request_line_bytes} bytes allowed "
        "(limits.requestlinebytes); shorten the URL or raise the limit",
    )


def too_many_headers(limits: Limits) -> bytes:
    return refusal(
        431,
        "SIZE_INVALID",
        f"the request has more than the {limits.header_count} header lines allowed "
        "(limits.headercount); send fewer headers or raise the limit",
    )


def headers_too_large(limits: Limits) -> bytes:
    return refusal(
        431,
        "SIZE_INVALID",
        f"the request headers are larger than the {limits.header_bytes} bytes allowed "
        "(limits.headerbytes); send smaller headers or raise the limit",
    )


def head_timed_out(limits: Limits) -> bytes:
    return refusal(
        408,
        "UNKNOWN",
        f"the request headers did not arrive within {limits.header_timeout:g} s "
        "(limits.headertimeout); send the whole request head promptly",
    )
