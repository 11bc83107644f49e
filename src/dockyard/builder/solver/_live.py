"""The live step view on a terminal (``--progress auto`` on a TTY, ``--progress tty``), like
BuildKit's: finished steps with their time or CACHED, running steps with a ticking clock and the
last lines of their output; what is left on screen at the end is the finished list."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["LiveView"]

#: Output lines shown under a running step.
TAIL_LINES = 6


@dataclass
class _Step:
    number: int
    name: str
    started: float
    status: str = ""  # "", DONE, CACHED, ERROR
    ended: float = 0.0
    message: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))


class LiveView:
    """A rich ``Live`` display of build steps, redrawn a few times a second."""

    def __init__(self, out: IO[str]) -> None:
        from rich.console import Console
        from rich.live import Live

        self._console = Console(file=out, highlight=False)
        self._steps: dict[int, _Step] = {}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._live = Live(
            get_renderable=self._render,
            console=self._console,
            refresh_per_second=8,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def start(self, number: int, name: str) -> None:
        with self._lock:
            self._steps[number] = _Step(number, name, time.monotonic())

    def log(self, number: int, line: str) -> None:
        with self._lock:
            step = self._steps.get(number)
            if step is not None:
                step.tail.append(line.rstrip())

    def end(self, number: int, status: str, message: str = "") -> None:
        with self._lock:
            step = self._steps.get(number)
            if step is not None:
                step.status, step.ended, step.message = status, time.monotonic(), message

    def message(self, text: str) -> None:
        self._live.console.print(text, markup=False)

    def close(self) -> None:
        self._live.refresh()
        self._live.stop()

    def _render(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        now = time.monotonic()
        with self._lock:
            steps = sorted(self._steps.values(), key=lambda s: s.number)
            running = sum(1 for s in steps if not s.status)
        title = "Building" if running else "Finished"
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(
            Text(f"[+] {title} {now - self._started:.1f}s", style="bold"),
            Text(f"{sum(1 for s in steps if s.status)}/{len(steps)}"),
        )
        for step in steps:
            label = Text(f" => {step.name}")
            if step.status == "CACHED":
                grid.add_row(label, Text("CACHED", style="blue"))
            elif step.status == "DONE":
                grid.add_row(label, Text(f"{step.ended - step.started:.1f}s", style="green"))
            elif step.status == "ERROR":
                label.stylize("red")
                grid.add_row(label, Text("ERROR", style="bold red"))
                if step.message:
                    grid.add_row(Text(f" => => {step.message}", style="red"), Text(""))
            else:
                label.stylize("cyan")
                grid.add_row(label, Text(f"{now - step.started:.1f}s", style="cyan"))
                for line in step.tail:
                    grid.add_row(Text(f" => => # {line}", style="dim"), Text(""))
        return grid
