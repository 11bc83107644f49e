"""A heredoc used as a COPY/ADD source (loaded only when a Dockerfile has one)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SourceContent"]


@dataclass(frozen=True)
class SourceContent:
    """A heredoc used as a COPY/ADD source: file ``path`` with ``data``."""

    path: str
    data: str
    expand: bool
