"""Progress for humans (rich bars on a terminal) and for logs (plain lines otherwise)."""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["PlainProgress", "RichProgress", "make_progress"]


class PlainProgress:
    """One line when an item finishes, and messages; nothing in between.

    Blobs move on several threads at once: each line goes out in one ``write`` under a lock,
    so a pipe or a log file never sees two lines run together.
    """

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.names: dict[str, str] = {}
        self.lock = threading.Lock()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def start(self, key: str, description: str, total: int | None = None) -> None:
        with self.lock:
            self.names[key] = description

    def advance(self, key: str, amount: int) -> None:
        pass

    def finish(self, key: str, status: str = "done") -> None:
        with self.lock:
            name = self.names.pop(key, key)
        self._line(f"{name}: {status}")

    def message(self, text: str) -> None:
        self._line(text)

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        with self.lock:
            self.stream.write(text + "\n")
            self.stream.flush()


class RichProgress:
    """docker-like per-item bars on the terminal."""

    def __init__(self, stream: TextIO) -> None:
        # imported here: commands writing plain lines (no terminal, --quiet) never need rich
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self.console = Console(file=stream)
        self.bars = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=False),
            TransferSpeedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bars.stop()

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self.tasks[key] = self.bars.add_task(description, total=total)

    def advance(self, key: str, amount: int) -> None:
        task = self.tasks.get(key)
        if task is not None:
            self.bars.advance(task, amount)

    def finish(self, key: str, status: str = "done") -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            total = self.bars.tasks[task].total
            self.bars.update(task, completed=total, description=f"{key[:19]}: {status}")

    def message(self, text: str) -> None:
        self.console.print(text, highlight=False)


def make_progress(quiet: bool = False, mode: str = "auto") -> PlainProgress | RichProgress:
    """Bars on a terminal, plain lines otherwise (``mode``: auto, plain, tty)."""
    stream = sys.stderr
    if not quiet and (mode == "tty" or (mode == "auto" and stream.isatty())):
        return RichProgress(stream)
    return PlainProgress(stream, quiet=quiet or mode == "quiet")
