"""The threads of a queue's worker: each runs rounds (claim what is due, work it); a round
that found work is followed by another at once, otherwise the thread waits ``poll`` seconds
or until :meth:`PollLoop.wake` (something was queued). A failed round is logged and the next
one comes after the wait; a round that failed because the database is out is not logged
again (its outage is logged once, where it was noticed)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from dockyard.errors import Unavailable

__all__ = ["PollLoop"]


class PollLoop:
    """``round()`` answers how many tasks it worked; ``after()`` (optional) is a chore done
    after every round (bounding a log). One daemon thread per name in ``names``; ``what``
    names the worker in log lines."""

    def __init__(
        self,
        round: Callable[[], int],
        *,
        names: Sequence[str],
        poll: float,
        log: logging.Logger,
        what: str,
        after: Callable[[], object] | None = None,
    ) -> None:
        self.round = round
        self.after = after
        self.poll = poll
        self.log = log
        self.what = what
        #: set when the worker is closing: a round gives back what it has not done
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._threads = [threading.Thread(target=self._run, name=n, daemon=True) for n in names]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    def close(self, timeout: float) -> None:
        """Stop the threads, waiting up to ``timeout`` seconds for each to end its round."""
        self.stopping.set()
        self._wake.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = self.round()
            except Unavailable:
                busy = 0  # the database's outage is logged once, where it was noticed
            except Exception:
                self.log.exception("%s round failed; trying again in %g s", self.what, self.poll)
                busy = 0
            if self.after is not None:
                self.after()
            if busy:
                continue
            self._wake.wait(self.poll)
            self._wake.clear()
