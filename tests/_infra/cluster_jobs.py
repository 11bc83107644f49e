"""What the cluster's background-work tests need around a cluster: a webhook target that
holds its first delivery open (so the replica delivering it can be killed mid-delivery), the
process owning one end of a TCP connection (which replica is delivering), the PostgreSQL
write lock held from outside (a run cannot end while it is held), and polling for rows."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from sqlalchemy import Engine

from _infra._registry import free_port
from dockyard.registry.metadata import WRITE_LOCK

__all__ = [
    "HeldFirstReceiver",
    "Hook",
    "cron_at",
    "process_with_connection",
    "wait_until",
    "write_lock",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Hook:
    """One POST the receiver answered: the sender's port and the body."""

    port: int
    body: bytes


class HeldFirstReceiver:
    """An HTTP target on 127.0.0.1 that never answers its first POST (the sender is left
    mid-delivery: :attr:`first_port` says from where it came) and answers the others 204."""

    def __init__(self) -> None:
        self.port = free_port()
        self.first_port: int | None = None
        self.answered: list[Hook] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> HeldFirstReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner._lock:
                    first = owner.first_port is None
                    if first:
                        owner.first_port = int(self.client_address[1])
                if first:
                    owner._release.wait(120)
                    return  # no answer: the connection just closes
                with owner._lock:
                    owner.answered.append(Hook(int(self.client_address[1]), body))
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HeldFirstReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def process_with_connection(local_port: int, pids: Iterable[int]) -> int | None:
    """Which of ``pids`` has a TCP socket bound to ``local_port`` (the client end of a
    connection a server saw coming from that port), from ``/proc``."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                    inodes.add(fields[9])
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:[") and target[8:-1] in inodes:
                        return pid
    return None


@contextlib.contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's write lock (PostgreSQL's advisory :data:`WRITE_LOCK`) as a session
    lock: every write transaction of every replica waits until the block ends."""
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({WRITE_LOCK})")
        conn.commit()
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({WRITE_LOCK})")
            conn.commit()


def cron_at(moment: float) -> str:
    """A 6-field cron (seconds first, UTC) firing at ``moment``'s second, once a day."""
    t = time.gmtime(moment)
    return f"{t.tm_sec} {t.tm_min} {t.tm_hour} * * *"


def wait_until(
    what: Callable[[], T | None], timeout: float, explain: Callable[[], str] = lambda: ""
) -> T:
    """``what()`` once it is truthy; AssertionError (with ``explain()``) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = what()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {timeout}s: {explain()}")
        time.sleep(0.1)
