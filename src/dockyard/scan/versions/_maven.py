"""Maven version ordering (a faithful subset of ``ComparableVersion``).

Versions split on ``.``/``-`` and digit/letter transitions; trailing zeros and empty
qualifiers are dropped; qualifiers order ``alpha`` < ``beta`` < ``milestone`` < ``rc``/``cr`` <
``snapshot`` < release (``ga``, ``final``, ``release``) < ``sp`` < any other word (lexically);
``a1``/``b1``/``m1`` abbreviate alpha/beta/milestone; numbers sort after every qualifier.
"""

from __future__ import annotations

import re

__all__ = ["compare_maven"]

_QUALIFIERS = {
    "alpha": 0,
    "beta": 1,
    "milestone": 2,
    "rc": 3,
    "cr": 3,
    "snapshot": 4,
    "": 5,
    "ga": 5,
    "final": 5,
    "release": 5,
    "sp": 6,
}
_ALIASES = {"a": "alpha", "b": "beta", "m": "milestone"}


def _items(v: str) -> list[tuple[int, object]]:
    tokens = re.findall(r"\d+|[A-Za-z]+", v.lower())
    items: list[tuple[int, object]] = []
    for i, t in enumerate(tokens):
        if t.isdigit():
            items.append((2, int(t)))
        else:
            if t in _ALIASES and i + 1 < len(tokens) and tokens[i + 1].isdigit():
                t = _ALIASES[t]
            rank = _QUALIFIERS.get(t)
            items.append((0, (rank, "")) if rank is not None else (1, t))
    while items and items[-1] in {(2, 0), (0, (5, ""))}:
        items.pop()
    return items


def _item_cmp(a: tuple[int, object] | None, b: tuple[int, object] | None) -> int:
    release = (0, (5, ""))
    x = a if a is not None else release
    y = b if b is not None else release
    if a is None and b is not None and b[0] == 2:
        x = (2, 0)
    if b is None and a is not None and a[0] == 2:
        y = (2, 0)
    if x[0] != y[0]:
        # qualifiers (known < unknown) sort before numbers
        return -1 if x[0] < y[0] else 1
    if x[1] == y[1]:
        return 0
    return -1 if x[1] < y[1] else 1  # type: ignore[operator]


def compare_maven(a: str, b: str) -> int:
    ia, ib = _items(a), _items(b)
    for i in range(max(len(ia), len(ib))):
        c = _item_cmp(ia[i] if i < len(ia) else None, ib[i] if i < len(ib) else None)
        if c:
            return c
    return 0
