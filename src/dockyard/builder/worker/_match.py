"""Path patterns as Docker matches them (``--exclude``, COPY sources): Go's filepath.Match per
component, plus ``**`` for any number of directories."""

from __future__ import annotations

import functools
import re

from dockyard.errors import InvalidArgument

__all__ = ["has_magic", "match_component", "matches_or_parent"]

_MAGIC = re.compile(r"[*?\[\\]")


def has_magic(text: str) -> bool:
    return _MAGIC.search(text) is not None


def _class(pattern: str, i: int) -> tuple[str, int]:
    """Translate the ``[...]`` class starting at ``pattern[i]``; returns (regex, next index)."""
    j = i + 1
    out = "["
    if j < len(pattern) and pattern[j] == "^":
        out += "^"
        j += 1
    start = j
    while j < len(pattern) and (pattern[j] != "]" or j == start):
        ch = pattern[j]
        if ch == "\\" and j + 1 < len(pattern):
            j += 1
            ch = pattern[j]
        out += "\\" + ch if ch in "\\]^[" else ch
        j += 1
    if j >= len(pattern):
        raise InvalidArgument(f"bad pattern {pattern!r}: unterminated character class")
    return out + "]", j + 1


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    parts = pattern.strip("/").split("/")
    out = ""
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part == "**":
            out += ".*" if last else "(?:.*/)?"
            continue
        i = 0
        while i < len(part):
            ch = part[i]
            if ch == "*":
                out += ".*" if part[i : i + 2] == "**" else "[^/]*"
                i += 2 if part[i : i + 2] == "**" else 1
            elif ch == "?":
                out += "[^/]"
                i += 1
            elif ch == "[":
                cls, i = _class(part, i)
                out += cls
            elif ch == "\\" and i + 1 < len(part):
                out += re.escape(part[i + 1])
                i += 2
            else:
                out += re.escape(ch)
                i += 1
        if not last:
            out += "/"
    return re.compile(out + r"\Z", re.DOTALL)


def match_component(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match`` for one path component."""
    return _regex(pattern).match(name) is not None


def matches_or_parent(pattern: str, path: str) -> bool:
    """Whether ``path`` (relative, ``/``-separated) or one of its parents matches ``pattern``."""
    regex = _regex(pattern)
    parts = path.strip("/").split("/")
    return any(regex.match("/".join(parts[: i + 1])) for i in range(len(parts)))
