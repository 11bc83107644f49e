"""A daemon thread that does one step of background work every ``tick`` seconds (a schedule's
look for due firings, a sweep): a step that fails is logged and tried again at the next tick;
one that fails because the database is out is not logged again (its outage is logged once,
where it was noticed)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from dockyard.errors import Unavailable

__all__ = ["Ticker"]


class Ticker:
    """Calls ``step`` every ``tick`` seconds from a thread called ``name`` (:meth:`start`),
    until :meth:`close`; a failed step is logged on ``log`` as ``failure``."""

    def __init__(
        self,
        step: Callable[[], object],
        *,
        tick: float,
        name: str,
        log: logging.Logger,
        failure: str,
    ) -> None:
        self.step = step
        self.tick = tick
        self.log = log
        self.failure = failure
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self.step()
            except Unavailable:
                pass  # the database's outage is logged once, where it was noticed
            except Exception:
                self.log.exception("%s", self.failure)
