"""Dockerfile errors that point at the file and line, rendered as BuildKit prints them."""

from __future__ import annotations

from dockyard.errors import DockerfileInvalid

__all__ = ["DockerfileError", "render_snippet"]


def render_snippet(name: str, lines: list[str], start: int, end: int, context: int = 2) -> str:
    """The block BuildKit prints above an error: the lines ``start..end`` marked with ``>>>``."""
    first = max(1, start - context)
    last = min(len(lines), end + context)
    out = [f"{name}:{start}" if start == end else f"{name}:{start}-{end}", "-" * 20]
    for n in range(first, last + 1):
        mark = ">>>" if start <= n <= end else ""
        out.append(f" {n:3d} | {mark:>3s} {lines[n - 1]}")
    out.append("-" * 20)
    return "\n".join(out)


class DockerfileError(DockerfileInvalid):
    """A Dockerfile problem at ``file:start_line[-end_line]``; ``str()`` shows the snippet."""

    def __init__(
        self,
        message: str,
        *,
        file: str = "Dockerfile",
        start_line: int = 0,
        end_line: int = 0,
        source: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.file = file
        self.start_line = start_line
        self.end_line = end_line or start_line
        self.source = source

    @property
    def snippet(self) -> str:
        if not self.start_line or self.source is None:
            return ""
        lines = self.source.splitlines()
        if self.end_line > len(lines):
            lines += [""] * (self.end_line - len(lines))
        return render_snippet(self.file, lines, self.start_line, self.end_line)

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        snippet = self.snippet
        if snippet:
            return f"{snippet}\nerror: {text}"
        if self.start_line:
            return f"{self.file}:{self.start_line}: {text}"
        return text
