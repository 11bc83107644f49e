"""Several server processes on one address, so that the registry uses more than one core.

The parent forks ``count`` workers before anything opens the database or starts a thread. Each
worker binds its own listening socket with ``SO_REUSEPORT`` (the kernel spreads connections
evenly over them), builds its own app and runs its own event loop. Workers share what is on
disk: the database (SQLite in WAL mode), the blobs, the cache's change counters, and a run
directory where each worker leaves its metrics for the others to add to theirs.

The parent supervises. A worker tells it when it is ready to serve (:meth:`Worker.ready`, over
a pipe whose end-of-file also says the worker is gone). A worker that dies while the parent is
not stopping — killed, crashed, or failing to start — is logged with its exit status or signal
and started again after a backoff (0.5 s, doubling to 30 s; back to 0.5 s once a worker has
stayed up 60 s), so a crash loop is visible in the log at a bounded rate. Only when *every*
worker of the first start fails before becoming ready (a configuration error, say) does the
parent give up and exit 1 instead of retrying a start that cannot work. SIGTERM/SIGINT are
forwarded once to the workers; the parent exits 0 when they have all stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import select
import shutil
import signal
import socket
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from dockyard.errors import Unavailable
from dockyard.registry.metrics import RegistryMetrics, Snapshot

__all__ = ["MetricsExchange", "Worker", "bind_listener", "listen_socket", "run_workers"]

log = logging.getLogger("dockyard.registry")

_PR_SET_PDEATHSIG = 1
#: Restart delays: the first, the cap, and how long a worker must stay up to reset them.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0
#: The supervisor looks at its stop flag at least this often (seconds).
_TICK = 0.5


@dataclass(frozen=True, slots=True)
class Worker:
    """Which worker this process is, and the directory its siblings share."""

    index: int
    count: int
    run_dir: Path
    #: the pipe to the supervisor (-1: none)
    ready_fd: int = field(default=-1, compare=False)

    def ready(self) -> None:
        """Tell the supervisor this worker serves now (its later death is a crash)."""
        if self.ready_fd >= 0:
            with contextlib.suppress(OSError):
                os.write(self.ready_fd, b"r")


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


def bind_listener(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """:func:`listen_socket`, with a failure (a busy port, a privileged one, an address this
    machine does not have) as one error naming the address: Unavailable."""
    try:
        return listen_socket(host, port, reuse_port=reuse_port)
    except OSError as exc:
        shown = f"[{host}]" if ":" in host else host
        reason = (exc.strerror or str(exc)).lower()
        raise Unavailable(
            f"cannot listen on {shown}:{port}: {reason}",
            hint="stop what uses the address or choose another with --addr (http.addr)",
        ) from None


@dataclass(slots=True)
class _Child:
    index: int
    pid: int
    pipe: int  # read end: "r" when ready, end-of-file when the worker is gone
    started: float
    ready: bool = False


def _describe(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        try:
            return f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def run_workers(count: int, host: str, port: int, serve: Callable[[Worker], None]) -> int:
    """Fork ``count`` workers each calling ``serve(worker)`` and keep them running until
    SIGTERM/SIGINT; the exit code for the parent (0 when told to stop)."""
    # bind once here first, so that an address in use fails now, with one clear message
    bind_listener(host, port, reuse_port=True).close()
    run_dir = Path(tempfile.mkdtemp(prefix="dockyard-registry-"))
    children: dict[int, _Child] = {}  # by pipe
    delays = dict.fromkeys(range(count), BACKOFF_FIRST)
    due: dict[int, float] = {}  # index → when to start it again
    stopping = False
    gave_up = False
    any_ready = False
    failed_first: set[int] = set()

    def stop(signum: int = signal.SIGTERM, frame: FrameType | None = None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        due.clear()
        for child in list(children.values()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)

    def start(index: int) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            for other in children.values():
                os.close(other.pipe)
            _child(serve, Worker(index, count, run_dir, write), old)
        os.close(write)
        children[read] = _Child(index, pid, read, time.monotonic())

    def ended(child: _Child) -> None:
        nonlocal gave_up
        _, status = os.waitpid(child.pid, 0)
        os.close(child.pipe)
        if stopping:
            return
        up = time.monotonic() - child.started
        if not child.ready and not any_ready:
            failed_first.add(child.index)
            if len(failed_first) == count:
                log.error("no worker started (the error is above): stopping")
                gave_up = True
                stop()
                return
            log.error("worker %d %s before it was ready", child.index, _describe(status))
            return  # started again once another worker has shown the setup can work
        if up >= STABLE_AFTER:
            delays[child.index] = BACKOFF_FIRST
        delay = delays[child.index]
        delays[child.index] = min(delay * 2, BACKOFF_MAX)
        log.error(
            "worker %d (pid %d) %s%s; restarting in %g s",
            child.index,
            child.pid,
            _describe(status),
            "" if child.ready else " before it was ready",
            delay,
        )
        due[child.index] = time.monotonic() + delay

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for index in range(count):
            start(index)
        while children or due:
            now = time.monotonic()
            for index, when in sorted(due.items()):
                if when <= now and not stopping:
                    del due[index]
                    start(index)
            timeout = min([_TICK, *(when - now for when in due.values())])
            readable, _, _ = select.select(list(children), [], [], max(timeout, 0))
            for pipe in readable:
                child = children[pipe]
                if os.read(pipe, 64):
                    child.ready = True
                    if not any_ready:
                        any_ready = True
                        for index in sorted(failed_first):  # their start failed: again
                            due[index] = time.monotonic() + delays[index]
                            log.error("worker %d: restarting in %g s", index, delays[index])
                            delays[index] = min(delays[index] * 2, BACKOFF_MAX)
                        failed_first.clear()
                    continue
                del children[pipe]
                ended(child)
        return 1 if gave_up else 0
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
