"""One object per database: the stores over a feature's tables, made (and their tables
created) on first use and kept while the database lives."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TypeVar

from dockyard.registry.metadata._engine import Database

__all__ = ["one_per_database"]

T = TypeVar("T")


def one_per_database(make: Callable[[Database], T]) -> Callable[[Database], T]:
    """``make(db)`` once per database, from any thread: later calls answer the same object
    (forgotten with the database). ``make`` may create tables, so call the result from a
    thread, not the event loop."""
    made: weakref.WeakKeyDictionary[Database, T] = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    def of(db: Database) -> T:
        with lock:
            found = made.get(db)
            if found is None:
                found = made[db] = make(db)
            return found

    return of
