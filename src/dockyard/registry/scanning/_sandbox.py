"""Scan worker processes: each scan runs in a fresh process, and the serving process only waits.

Workers are forked from a ``forkserver`` (started once, with the scanner's modules loaded;
never a fork of the serving process and its threads), so a scan costs a fork, not an
interpreter start-up. In the worker, ``RLIMIT_AS`` caps memory (``limits.scanmemorybytes``) and
``RLIMIT_CPU`` CPU time (``limits.scanseconds``); here, a wall-clock deadline of twice that plus
a grace period kills a worker that waits instead of computing. Whatever happens to a worker,
:meth:`ScanWorkers.run` answers a :class:`ScanOutcome`; the next scan gets a new process.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from typing import Any

from dockyard.registry.scanning._job import ScanJob, ScanOutcome, worker_main
from dockyard.scan import shown_bytes

__all__ = ["REPORT_BYTES", "ScanWorkers", "seconds_shown", "wall_seconds"]

#: the wall-clock deadline is this many times ``limits.scanseconds``, plus the grace
WALL_FACTOR = 2.0
WALL_GRACE = 10.0
#: the largest report a worker may send back (stored as it is; a report lists findings only)
REPORT_BYTES = 64 << 20
_HEADER_BYTES = 1 << 20
_PRELOAD = ["dockyard.registry.scanning._job"]


def wall_seconds(cpu_seconds: float) -> float:
    return cpu_seconds * WALL_FACTOR + WALL_GRACE


def seconds_shown(seconds: float) -> str:
    return f"{seconds:g} s"


def _context() -> ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    return ctx


def _time_error(job: ScanJob, how: str) -> str:
    return f"scan exceeded limits.scanseconds ({seconds_shown(job.cpu_seconds)}): {how}"


def _died(job: ScanJob, exitcode: int | None) -> str:
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        return _time_error(job, "the scan worker used up its CPU time and was stopped")
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return (
            f"the scan worker was killed by {name} (limits.scanmemorybytes is "
            f"{shown_bytes(job.memory_bytes)}); the image is malformed or hostile"
        )
    return f"the scan worker exited with status {exitcode} before answering"


def _receive(receiver: Connection) -> ScanOutcome | None:
    """The worker's answer, or None when it died before sending it whole."""
    try:
        header: dict[str, Any] = json.loads(receiver.recv_bytes(_HEADER_BYTES))
        if header.get("error") is not None:
            return ScanOutcome(error=str(header["error"]))
        report = receiver.recv_bytes(REPORT_BYTES).decode()
    except EOFError:
        return None
    except (OSError, ValueError):  # longer than the maximum, or not JSON/UTF-8
        return ScanOutcome(
            error=f"the scan worker's report is over {shown_bytes(REPORT_BYTES)} or unreadable; "
            "the image is unusually large or hostile"
        )
    return ScanOutcome(summary=header.get("summary"), report_json=report)


class ScanWorkers:
    """Runs each :class:`ScanJob` in its own limited process; :meth:`close` kills them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: each running worker, with the name of its job
        self._running: dict[BaseProcess, str] = {}
        #: workers killed by :meth:`cancel`
        self._cancelled: set[BaseProcess] = set()
        self._closed = False

    def run(self, job: ScanJob) -> ScanOutcome | None:
        """The outcome of ``job`` (None: :meth:`close` was called meanwhile)."""
        ctx = _context()
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(
            target=worker_main, args=(sender, job), name="dockyard-scan", daemon=True
        )
        with self._lock:
            if self._closed:
                receiver.close()
                sender.close()
                return None
            process.start()
            self._running[process] = job.name
        sender.close()
        try:
            outcome = self._wait(receiver, process, job)
        finally:
            receiver.close()
            if process.is_alive():
                process.kill()
            process.join()
            with self._lock:
                self._running.pop(process, None)
                cancelled = process in self._cancelled
                self._cancelled.discard(process)
        if cancelled:
            return ScanOutcome(error="the scan was stopped", stopped=True)
        return None if self._closed else outcome

    def cancel(self, name: str) -> int:
        """Kill the workers running the job called ``name`` (its scan was stopped): their
        :meth:`run` answers "the scan was stopped"; how many were killed."""
        with self._lock:
            doomed = [p for p, job in self._running.items() if job == name]
            self._cancelled.update(doomed)
        for process in doomed:
            if process.is_alive():
                process.kill()
        return len(doomed)

    def _wait(self, receiver: Connection, process: BaseProcess, job: ScanJob) -> ScanOutcome:
        deadline = wall_seconds(job.cpu_seconds)
        if not receiver.poll(deadline):
            process.kill()
            return ScanOutcome(
                error=_time_error(
                    job, f"the scan had not finished after {seconds_shown(deadline)} (wall clock)"
                )
            )
        outcome = _receive(receiver)
        if outcome is not None:
            return outcome
        process.join(WALL_GRACE)  # closed its end: exiting, or killed
        if process.exitcode is None:
            process.kill()
            return ScanOutcome(error="the scan worker closed its pipe without answering")
        return ScanOutcome(error=_died(job, process.exitcode))

    def close(self) -> None:
        """Kill every running worker (their scans stay pending) and start no more."""
        with self._lock:
            self._closed = True
            running = list(self._running)
        for process in running:
            if process.is_alive():
                process.kill()
