"""A Redis that stops answering (its machine gone: connections hang instead of being
refused) costs one timeout per ``retry`` seconds, not one per request: meanwhile every read
counts as changed without asking, and a bump is recorded as failed (so every replica's cache
is dropped once Redis answers again)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from dockyard.registry.redis import RedisConfig
from dockyard.registry.redis.client import connect
from dockyard.registry.redis.generations import RedisGenerations


class SilentServer:
    """Accepts connections on 127.0.0.1 and never answers; counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted.append(conn)

    def connections(self) -> int:
        """How many connections were made so far (the backlog not yet accepted included)."""
        self._stop.set()
        self._thread.join()
        self.sock.setblocking(False)
        while True:
            try:
                self.accepted.append(self.sock.accept()[0])
            except BlockingIOError:
                return len(self.accepted)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


def test_a_hanging_redis_is_asked_once_per_retry_interval(silent: SilentServer) -> None:
    config = RedisConfig("127.0.0.1", silent.port, dial_timeout=0.2, read_timeout=0.2,
                         write_timeout=0.2)  # fmt: skip
    generations = RedisGenerations(connect(config), "t:", retry=3600)
    try:
        values = [generations.get("lib/app") for _ in range(20)]
        assert len(set(values)) == 20 and all(v < 0 for v in values)  # each: "changed"
        assert silent.connections() == 1  # one timeout, then left alone
        generations.bump("lib/app")  # not sent either, but remembered as failed
        assert generations.failed_bumps == 1
        assert generations.outage.down and generations.outage.failures == 2
    finally:
        generations.close()
