"""``--chmod`` values: octal (``0755``) or symbolic (``u+x,go-w``, ``a=rX``) as chmod(1)."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable

from dockyard.errors import InvalidArgument

__all__ = ["parse_chmod"]

_CLAUSE = re.compile(r"([ugoa]*)([-+=])([rwxXst]*|[ugo])")
_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}


def _bits(perms: str, mode: int, is_dir: bool) -> int:
    bits = 0
    for p in perms:
        if p == "r":
            bits |= 0o444
        elif p == "w":
            bits |= 0o222
        elif p == "x":
            bits |= 0o111
        elif p == "X":
            if is_dir or mode & 0o111:
                bits |= 0o111
        elif p == "s":
            bits |= stat.S_ISUID | stat.S_ISGID
        elif p == "t":
            bits |= stat.S_ISVTX
    return bits


def parse_chmod(spec: str) -> Callable[[int, bool], int]:
    """A function ``(current mode bits, is_dir) → new mode bits`` for ``spec``."""
    if re.fullmatch(r"[0-7]{1,4}", spec):
        value = int(spec, 8)
        return lambda _mode, _is_dir: value
    clauses = spec.split(",")
    parsed = []
    for clause in clauses:
        m = _CLAUSE.fullmatch(clause)
        if m is None:
            raise InvalidArgument(
                f"invalid --chmod value {spec!r}: use octal (0755) or symbolic (u+x,go-w)"
            )
        parsed.append(m.groups())

    def apply(mode: int, is_dir: bool) -> int:
        mode &= 0o7777
        for who, op, perms in parsed:
            mask = 0
            for w in who.replace("a", "ugo") or "ugo":
                mask |= _WHO[w]
            if perms in ("u", "g", "o"):
                shift = {"u": 6, "g": 3, "o": 0}[perms]
                trio = (mode >> shift) & 0o7
                bits = trio << 6 | trio << 3 | trio
            else:
                bits = _bits(perms, mode, is_dir)
            bits &= mask
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~mask) | bits
        return mode

    return apply
