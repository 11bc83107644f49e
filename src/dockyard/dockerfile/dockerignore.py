"""``.dockerignore``: reading the file and matching paths exactly as moby/patternmatcher does."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from dockyard.dockerfile.errors import DockerfileError

__all__ = ["Pattern", "PatternMatcher", "read_ignore_file"]

_REGEX_SPECIAL = ".+()|{}$"


def _clean(p: str) -> str:
    out = posixpath.normpath(p)
    return "/" if out.startswith("//") and out.strip("/") == "" else out


def read_ignore_file(text: str | bytes) -> list[str]:
    """The patterns of a ``.dockerignore``: comments and blanks dropped, paths cleaned,
    a leading ``/`` removed (``!`` exceptions kept)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        pattern = line.strip()
        if not pattern:
            continue
        invert = pattern[0] == "!"
        if invert:
            pattern = pattern[1:].strip()
        if pattern:
            pattern = _clean(pattern)
            if len(pattern) > 1 and pattern[0] == "/":
                pattern = pattern[1:]
        out.append("!" + pattern if invert else pattern)
    return out


@dataclass
class Pattern:
    """One pattern; ``exclusion`` for ``!pattern``."""

    cleaned: str
    exclusion: bool
    kind: str = ""  # exact | prefix | suffix | regexp
    regex: re.Pattern[str] | None = None

    def __post_init__(self) -> None:
        self._compile()

    @property
    def dirs(self) -> list[str]:
        return self.cleaned.split("/")

    def __str__(self) -> str:
        return self.cleaned

    def _compile(self) -> None:
        reg = "^"
        pattern = self.cleaned
        kind = "exact"
        i = 0
        n = len(pattern)
        index = 0
        while i < n:
            ch = pattern[i]
            i += 1
            if ch == "*":
                if i < n and pattern[i] == "*":
                    i += 1
                    if i < n and pattern[i] == "/":
                        i += 1
                    if i >= n:
                        if kind == "exact":
                            kind = "prefix"
                        else:
                            reg += ".*"
                            kind = "regexp"
                    else:
                        reg += "(.*/)?"
                        kind = "regexp"
                    if index == 0:
                        kind = "suffix"
                else:
                    reg += "[^/]*"
                    kind = "regexp"
            elif ch == "?":
                reg += "[^/]"
                kind = "regexp"
            elif ch in _REGEX_SPECIAL:
                reg += "\\" + ch
            elif ch == "\\":
                if i < n:
                    reg += "\\" + pattern[i]
                    i += 1
                    kind = "regexp"
                else:
                    reg += "\\\\"
            elif ch in "[]":
                reg += ch
                kind = "regexp"
            else:
                reg += ch
            index += 1
        self.kind = kind
        if kind == "regexp":
            try:
                self.regex = re.compile(reg + "$", re.S)
            except re.error as e:
                raise DockerfileError(f"syntax error in pattern {self.cleaned!r}: {e}") from None

    def match(self, path: str) -> bool:
        if self.kind == "exact":
            return path == self.cleaned
        if self.kind == "prefix":
            return path.startswith(self.cleaned[:-2])
        if self.kind == "suffix":
            suffix = self.cleaned[2:]
            if path.endswith(suffix):
                return True
            return suffix[:1] == "/" and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None


class PatternMatcher:
    """Docker's matcher: the last pattern that matches a path (or one of its parent
    directories) decides; ``!`` patterns re-include."""

    def __init__(self, patterns: list[str]) -> None:
        self.patterns: list[Pattern] = []
        for raw in patterns:
            p = raw.strip()
            if not p:
                continue
            p = _clean(p)
            exclusion = p[0] == "!"
            if exclusion:
                if len(p) == 1:
                    raise DockerfileError('illegal exclusion pattern: "!"')
                p = p[1:]
            self.patterns.append(Pattern(p, exclusion))

    @property
    def exclusions(self) -> bool:
        return any(p.exclusion for p in self.patterns)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is excluded (MatchesOrParentMatches)."""
        path = _clean(path.replace("\\", "/")) if path else path
        matched = False
        parent = posixpath.dirname(path) or "."
        parent_dirs = parent.split("/")
        for pattern in self.patterns:
            if pattern.exclusion != matched:
                continue
            hit = pattern.match(path)
            if not hit and parent != ".":
                for i in range(len(parent_dirs)):
                    if pattern.match("/".join(parent_dirs[: i + 1])):
                        hit = True
                        break
            if hit:
                matched = not pattern.exclusion
        return matched

    def may_include_below(self, directory: str) -> bool:
        """Whether an exclusion pattern could re-include something under an excluded dir."""
        prefix = directory.rstrip("/") + "/"
        return any(p.exclusion and (p.cleaned + "/").startswith(prefix) for p in self.patterns)
