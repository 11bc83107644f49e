"""Several server processes on one address, so that the registry uses more than one core.

The parent forks ``count`` workers before anything opens the database or starts a thread. Each
worker binds its own listening socket with ``SO_REUSEPORT`` (the kernel spreads connections
evenly over them), builds its own app and runs its own event loop. Workers share what is on
disk: the database (SQLite in WAL mode), the blobs, the cache's change counters, and a run
directory where each worker leaves its metrics for the others to add to theirs. The parent
forwards SIGTERM/SIGINT to the workers once and exits when they have; if one dies on its own,
it stops the others and exits with an error.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from dockyard.record import record
from dockyard.registry.metrics import RegistryMetrics, Snapshot

__all__ = ["MetricsExchange", "Worker", "listen_socket", "run_workers"]

log = logging.getLogger("dockyard.registry")

_PR_SET_PDEATHSIG = 1


@record(frozen=True)
class Worker:
    """Which worker this process is, and the directory its siblings share."""

    index: int
    count: int
    run_dir: Path


def listen_socket(host: str, port: int, *, reuse_port: bool, backlog: int = 4096) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def run_workers(count: int, host: str, port: int, serve: Callable[[Worker], None]) -> int:
    """Fork ``count`` workers each calling ``serve(worker)``; the exit code for the parent."""
    # bind once here first, so that an address in use fails now, with one clear message
    listen_socket(host, port, reuse_port=True).close()
    run_dir = Path(tempfile.mkdtemp(prefix="dockyard-registry-"))
    children: dict[int, int] = {}
    stopping = False

    def stop(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(count):
            pid = os.fork()
            if pid == 0:
                _child(serve, Worker(index, count, run_dir), old)
            children[pid] = index
        code = 0
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            index = children.pop(pid, -1)
            exit_code = os.waitstatus_to_exitcode(status)
            if not stopping:
                log.error("worker %d exited (%d): stopping the others", index, exit_code)
                code = 1
                stop()
        return code
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        shutil.rmtree(run_dir, ignore_errors=True)


def _child(
    serve: Callable[[Worker], None], worker: Worker, handlers: dict[signal.Signals, Any]
) -> None:
    code = 0
    try:
        os.setpgid(0, 0)  # a Ctrl-C reaches the parent only, which passes on one SIGTERM
        with contextlib.suppress(OSError, AttributeError):  # stop when the parent is gone
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        for s, handler in handlers.items():
            signal.signal(s, handler)
        serve(worker)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


class MetricsExchange:
    """Publishes this worker's metrics for its siblings (every ``interval`` seconds, and when
    stopped) and renders the sum of everyone's: the other workers' counts are at most
    ``interval`` seconds old."""

    def __init__(self, metrics: RegistryMetrics, worker: Worker, interval: float = 0.5) -> None:
        self.metrics = metrics
        self.worker = worker
        self.interval = interval
        self._path = worker.run_dir / f"metrics-{worker.index}.json"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-exchange", daemon=True)
        self._thread.start()

    def render(self) -> bytes:
        return self.metrics.render(self._others())

    def _others(self) -> list[Snapshot]:
        out: list[Snapshot] = []
        for index in range(self.worker.count):
            if index == self.worker.index:
                continue
            path = self.worker.run_dir / f"metrics-{index}.json"
            with contextlib.suppress(OSError, ValueError):
                out.append(json.loads(path.read_bytes()))
        return out

    def publish(self) -> None:
        data = json.dumps(self.metrics.snapshot(), separators=(",", ":")).encode()
        temp = self._path.with_suffix(f".{os.getpid()}.tmp")
        temp.write_bytes(data)
        os.replace(temp, self._path)  # readers see the old file or the new one, whole

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with contextlib.suppress(OSError):
            self.publish()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with contextlib.suppress(OSError):
                self.publish()
