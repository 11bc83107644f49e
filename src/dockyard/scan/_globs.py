"""Glob patterns (``**`` spans directories) compiled into one regular expression."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["compile_globs", "glob_regex"]


def glob_regex(pattern: str) -> str:
    """The regex source for one absolute glob: ``*`` and ``?`` stay in one path segment."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def compile_globs(patterns: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any of ``patterns`` against a whole absolute path."""
    sources = sorted({glob_regex(p) for p in patterns})
    if not sources:
        return re.compile(r"(?!)")
    return re.compile("(?:" + "|".join(sources) + r")\Z")
