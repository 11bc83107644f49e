"""The build cache's database opened by several builds at once (a multi-platform build's
platforms start together on a fresh store): each open waits its turn to switch the file to WAL
instead of failing with "database is locked", which SQLite answers at once for that switch."""

from __future__ import annotations

import threading
from pathlib import Path

from dockyard.builder.cache.records import BuildCache

ROUNDS = 60
OPENERS = 4


def _open_at_once(path: Path) -> list[str]:
    """``OPENERS`` threads opening the cache at ``path`` together; what they failed with."""
    start = threading.Barrier(OPENERS)
    opened: list[BuildCache] = []
    failures: list[str] = []
    lock = threading.Lock()

    def open_it() -> None:
        start.wait()
        try:
            cache = BuildCache(path)
        except Exception as exc:  # what a build would die of
            with lock:
                failures.append(repr(exc))
            return
        with lock:
            opened.append(cache)

    threads = [threading.Thread(target=open_it) for _ in range(OPENERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for cache in opened:
        cache.close()
    return failures


def test_builds_opening_a_fresh_cache_at_once_all_get_it(tmp_path: Path) -> None:
    failures = [
        f"round {n}: {f}"
        for n in range(ROUNDS)
        for f in _open_at_once(tmp_path / f"round{n}" / "cache.db")
    ]
    assert failures == []
