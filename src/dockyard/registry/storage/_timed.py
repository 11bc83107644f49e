"""A storage driver that times each operation of another one: distribution's
``registry_storage_action_seconds{driver,action}`` (its base driver's instrumentation).

Action names are distribution's where the operation is the same (``Reader``, ``Writer``,
``Stat``, ``List``, ``Move``, ``Delete``, ``URLFor``) and dockyard's own otherwise (``Trim``,
``BodySocket``). ``local_path`` does no I/O and is not timed. A ``List`` counts until the
listing is consumed; a ``Reader`` or ``Writer`` until the file is open, as distribution's.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from dockyard.registry.metrics import Histogram
from dockyard.registry.storage._driver import FileInfo, FileWriter, StorageDriver

__all__ = ["TimedStorage", "driver_name"]


def driver_name(driver: StorageDriver) -> str:
    """registry:2's name of ``driver``'s kind: ``filesystem`` or ``s3aws``."""
    return str(getattr(driver, "kind", "filesystem"))


class TimedStorage:
    """``inner`` with each operation's time observed into ``histogram``."""

    def __init__(self, inner: StorageDriver, histogram: Histogram) -> None:
        self.inner = inner
        name = driver_name(inner)
        self._hist = histogram
        self._keys = {
            action: histogram.key((name, action))
            for action in (
                "Reader", "Writer", "Trim", "Stat", "Delete", "List", "Move", "URLFor",
                "BodySocket",
            )
        }  # fmt: skip

    def _observe(self, action: str, began: float) -> None:
        self._hist.observe_key(self._keys[action], time.perf_counter() - began)

    def __getattr__(self, name: str) -> object:  # close() and the like: the inner driver's
        return getattr(self.inner, name)

    def reader(self, key: str, offset: int = 0) -> BinaryIO:
        began = time.perf_counter()
        try:
            return self.inner.reader(key, offset)
        finally:
            self._observe("Reader", began)

    def writer(self, key: str, offset: int = 0) -> FileWriter:
        began = time.perf_counter()
        try:
            return self.inner.writer(key, offset)
        finally:
            self._observe("Writer", began)

    def trim(self, key: str, keep: Callable[[], int | None]) -> bool:
        began = time.perf_counter()
        try:
            return self.inner.trim(key, keep)
        finally:
            self._observe("Trim", began)

    def stat(self, key: str) -> FileInfo | None:
        began = time.perf_counter()
        try:
            return self.inner.stat(key)
        finally:
            self._observe("Stat", began)

    def delete(self, key: str) -> None:
        began = time.perf_counter()
        try:
            self.inner.delete(key)
        finally:
            self._observe("Delete", began)

    def list(self, prefix: str) -> Iterator[str]:
        began = time.perf_counter()
        try:
            yield from self.inner.list(prefix)
        finally:
            self._observe("List", began)

    def move(self, source: str, target: str) -> None:
        began = time.perf_counter()
        try:
            self.inner.move(source, target)
        finally:
            self._observe("Move", began)

    def local_path(self, key: str) -> Path | None:
        return self.inner.local_path(key)

    def body_socket(self, key: str, offset: int, length: int) -> socket.socket | None:
        began = time.perf_counter()
        try:
            return self.inner.body_socket(key, offset, length)
        finally:
            self._observe("BodySocket", began)

    def url_for(self, key: str) -> str | None:
        began = time.perf_counter()
        try:
            return self.inner.url_for(key)
        finally:
            self._observe("URLFor", began)
