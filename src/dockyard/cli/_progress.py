"""Progress for humans (rich bars on a terminal) and for logs (plain lines otherwise)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["PlainProgress", "RichProgress", "make_progress"]


class PlainProgress:
    """One line when an item starts (if large) and when it finishes; nothing in between."""

    def __init__(self, stream: TextIO, quiet: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.names: dict[str, str] = {}

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self.names[key] = description

    def advance(self, key: str, amount: int) -> None:
        pass

    def finish(self, key: str, status: str = "done") -> None:
        if not self.quiet:
            name = self.names.pop(key, key)
            print(f"{name}: {status}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)


class RichProgress:
    """docker-like per-item bars on the terminal."""

    def __init__(self, stream: TextIO) -> None:
        # rich is imported here, not at module level: it costs ~50 ms of start-up that
        # commands writing plain lines (no terminal, --quiet) never need
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
