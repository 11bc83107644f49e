"""Harbor's ``doublestar`` patterns (bmatcuk/doublestar v1, as Harbor's selectors use them),
compiled to regular expressions.

With ``/`` as the separator:

- ``*`` is any run of characters but ``/``; ``?`` one character but ``/``;
- ``**`` as a whole path component is zero or more components (``a/**/b`` matches ``a/b`` and
  ``a/x/y/b``; ``**`` alone matches anything); inside a component it is ``*``;
- ``[abc]``, ``[a-z]``, ``[^a-z]`` are classes of one character (never ``/``);
- ``{a,b}`` is either alternative (they may hold ``/``, patterns and more braces);
- ``\\`` makes the next character literal.

A malformed pattern (an unclosed ``[`` or ``{``, an empty class, a ``-`` where a class cannot
have one, a trailing ``\\``) is :class:`BadPattern` when it is compiled, whatever it is matched
against (doublestar itself only notices once a match reaches the bad part).
"""

from __future__ import annotations

import re
from functools import lru_cache

from dockyard.errors import InvalidArgument

__all__ = ["BadPattern", "compile_pattern", "match"]


class BadPattern(InvalidArgument):
    """A doublestar pattern that cannot be compiled."""


def match(pattern: str, name: str) -> bool:
    """Whether ``name`` matches doublestar ``pattern`` as a whole (BadPattern if malformed)."""
    return compile_pattern(pattern).fullmatch(name) is not None


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` as a regular expression to ``fullmatch`` names with."""
    parser = _Parser(pattern)
    body = parser.sequence(top=True)
    return re.compile(body, re.DOTALL)


class _Parser:
    """Recursive descent over the pattern: a sequence ends at the pattern's end, or (inside
    braces) at an unescaped ``,`` or ``}`` of its own level."""

    def __init__(self, pattern: str) -> None:
        self.p = pattern
        self.i = 0

    def _bad(self, why: str) -> BadPattern:
        return BadPattern(
            f"invalid pattern {self.p!r}: {why}",
            hint="doublestar syntax: *, **, ?, [a-z], [^a-z], {a,b}; \\ escapes a character",
        )

    def _component_start(self) -> bool:
        return self.i == 0 or self.p[self.i - 1] in "/{,"

    def sequence(self, *, top: bool) -> str:
        out: list[str] = []
        p = self.p
        while self.i < len(p):
            c = p[self.i]
            if not top and c in ",}":
                return "".join(out)
            if c == "\\":
                if self.i + 1 >= len(p):
                    raise self._bad("it ends with an escaping backslash")
                out.append(re.escape(p[self.i + 1]))
                self.i += 2
            elif c == "*":
                out.append(self._star())
            elif c == "?":
                out.append("[^/]")
                self.i += 1
            elif c == "[":
                out.append(self._class())
            elif c == "{":
                out.append(self._braces())
            else:
                out.append(re.escape(c))
                self.i += 1
        if not top:
            raise self._bad("a '{' is never closed")
        return "".join(out)

    def _star(self) -> str:
        p, start = self.p, self.i
        whole = p.startswith("**", start) and self._component_start()
        end = start + 2 if whole else start + 1
        after = p[end] if end < len(p) else ""
        if whole and after in ("", "/", ",", "}"):
            if after == "/":
                self.i = end + 1
                return "(?:[^/]*/)*"  # zero or more whole components
            self.i = end
            return ".*"
        while self.i < len(p) and p[self.i] == "*":
            self.i += 1
        return "[^/]*"

    def _class_char(self) -> str:
        p = self.p
        if self.i >= len(p):
            raise self._bad("a '[' is never closed")
        c = p[self.i]
        if c == "\\":
            if self.i + 1 >= len(p):
                raise self._bad("a '[' is never closed")
            self.i += 2
            return p[self.i - 1]
        if c == "-":
            raise self._bad("a '-' in a class needs a character before it or an escape")
        self.i += 1
        return c

    def _class(self) -> str:
        p = self.p
        self.i += 1  # '['
        negated = self.i < len(p) and p[self.i] == "^"
        if negated:
            self.i += 1
        if self.i < len(p) and p[self.i] == "]" and not negated:
            raise self._bad("a class is empty ('[]'); escape a ']' inside one as '\\]'")
        ranges: list[tuple[str, str]] = []
        while True:
            if self.i >= len(p):
                raise self._bad("a '[' is never closed")
            if p[self.i] == "]":
                self.i += 1
                break
            low = self._class_char()
            high = low
            if self.i < len(p) and p[self.i] == "-":
                self.i += 1
                if self.i >= len(p) or p[self.i] == "]":
                    raise self._bad("a range in a class has no end")
                high = self._class_char()
            ranges.append((low, high))
        items = "".join(  # a reversed range (z-a) holds nothing
            re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}"
            for lo, hi in ranges
            if lo <= hi
        )
        if negated:
            return f"[^/{items}]"
        return f"(?!/)[{items}]" if items else "(?!)"

    def _braces(self) -> str:
        self.i += 1  # '{'
        options: list[str] = []
        while True:
            options.append(self.sequence(top=False))
            if self.i >= len(self.p):
                raise self._bad("a '{' is never closed")
            closing = self.p[self.i]
            self.i += 1
            if closing == "}":
                break
        return "(?:" + "|".join(options) + ")"
