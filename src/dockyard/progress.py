"""How long operations report what they are doing; the CLI decides how to show it."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullProgress", "Progress"]


class Progress(Protocol):
    """Events from a long operation. ``key`` names one item (a layer, a blob).

    Operations that move items in parallel call these methods from several threads at once:
    an implementation must be safe for that, and one that writes lines must write each line
    whole (one write, under a lock), or lines from two threads run together in a log.
    """

    def start(self, key: str, description: str, total: int | None = None) -> None: ...
    def advance(self, key: str, amount: int) -> None: ...
    def finish(self, key: str, status: str = "done") -> None: ...
    def message(self, text: str) -> None: ...


class NullProgress:
    """Reports nothing; the default for library callers."""

    def start(self, key: str, description: str, total: int | None = None) -> None:
        pass

    def advance(self, key: str, amount: int) -> None:
        pass

    def finish(self, key: str, status: str = "done") -> None:
        pass

    def message(self, text: str) -> None:
        pass
