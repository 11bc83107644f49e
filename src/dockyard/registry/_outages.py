"""One log line per outage of a service the registry stands on (PostgreSQL, Redis, S3).

While a backing service is down every request that needs it fails (503 ``UNAVAILABLE``, or a
slower path that does without it); logging each failure would bury the cause under thousands
of identical tracebacks. An :class:`Outage` tracks one service: the first failure logs one
error line naming the service, the error and what to check; further failures are counted, and
while the outage lasts a reminder is logged at most once per ``interval`` seconds; the first
success after failures logs one line saying the service answers again, and for how long it
did not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Outage"]

log = logging.getLogger("dockyard.registry")

#: Seconds between reminders while one outage lasts.
REMIND_INTERVAL = 60.0


class Outage:
    """The state of one backing service as this process sees it: up, or down since when."""

    def __init__(
        self,
        service: str,
        hint: str,
        *,
        effect: str = "requests that need it get 503 until it does",
        interval: float = REMIND_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        #: what failed, for the log ("PostgreSQL at postgresql://db/registry")
        self.service = service
        #: what to check, for the log
        self.hint = hint
        #: what the registry does meanwhile, for the log
        self.effect = effect
        self.interval = interval
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reminded = 0.0
        #: failures seen during the current outage (0 while the service answers)
        self.failures = 0
        #: outages seen since this process started
        self.outages = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException | str) -> None:
        """One request could not reach the service; logs when an outage begins (and a
        reminder every ``interval`` seconds while it lasts)."""
        with self._lock:
            now = self._clock()
            self.failures += 1
            if self._down_since is None:
                self._down_since = self._reminded = now
                self.outages += 1
                self._log.error(
                    "%s does not answer: %s; %s (%s)",
                    self.service,
                    _one_line(error),
                    self.effect,
                    self.hint,
                )
            elif now - self._reminded >= self.interval:
                self._reminded = now
                self._log.error(
                    "%s still does not answer after %.0f s (%s): %s (%s)",
                    self.service,
                    now - self._down_since,
                    _requests(self.failures),
                    _one_line(error),
                    self.hint,
                )

    def succeeded(self, note: str = "") -> None:
        """A request reached the service; logs the end of an outage (cheap while up)."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is None:
                return
            took = self._clock() - self._down_since
            failures, self._down_since, self.failures = self.failures, None, 0
        self._log.warning(
            "%s answers again after %.1f s (%s)%s",
            self.service,
            took,
            _requests(failures),
            f"; {note}" if note else "",
        )


def _requests(count: int) -> str:
    return f"{count} failed request" if count == 1 else f"{count} failed requests"


def _one_line(error: BaseException | str) -> str:
    """An error's message on one line (drivers' messages span several)."""
    text = str(error) if str(error) else type(error).__name__
    return " ".join(text.split())
