"""``COPY --chmod``: octal modes and chmod(1)'s symbolic modes (``u+x,go-w``, ``a=rX``)."""

from __future__ import annotations

import re

__all__ = ["apply_chmod", "check_chmod"]

_CLAUSE = re.compile(r"^([ugoa]*)((?:[-+=][ugo]|[-+=][rwxXst]*)+)$")
_ACTION = re.compile(r"([-+=])([ugo]|[rwxXst]*)")
_WHO = {"u": 0o4700, "g": 0o2070, "o": 0o1007}


def check_chmod(spec: str) -> int | None:
    """The octal mode of ``spec``, or ``None`` for a valid symbolic mode; raises ValueError."""
    try:
        mode = int(spec, 8)
    except ValueError:
        mode = None
    if mode is not None:
        if mode > 0o7777 or mode < 0:
            raise ValueError(
                f"invalid chmod parameter: '{spec}'. it should be octal string and "
                "between 0 and 07777"
            )
        return mode
    for clause in spec.split(","):
        if not _CLAUSE.match(clause):
            raise ValueError(
                f"invalid chmod parameter: '{spec}'. it should be octal string and "
                "between 0 and 07777, or a symbolic mode like u+x,g-w"
            )
    return None


def apply_chmod(spec: str, mode: int, is_dir: bool) -> int:
    """The permission bits ``spec`` gives a file that had ``mode`` (umask 0, as BuildKit)."""
    octal = check_chmod(spec)
    if octal is not None:
        return octal
    mode &= 0o7777
    for clause in spec.split(","):
        m = _CLAUSE.match(clause)
        assert m is not None
        who_text = m.group(1) or "a"
        mask = 0
        for w in who_text:
            mask |= 0o7777 if w == "a" else _WHO[w]
        for op, perm in _ACTION.findall(m.group(2)):
            bits = 0
            if perm in ("u", "g", "o"):
                shift = {"u": 6, "g": 3, "o": 0}[perm]
                trio = (mode >> shift) & 0o7
                bits = trio << 6 | trio << 3 | trio
            else:
                for p in perm:
                    if p == "r":
                        bits |= 0o444
                    elif p == "w":
                        bits |= 0o222
                    elif p == "x" or (p == "X" and (is_dir or mode & 0o111)):
                        bits |= 0o111
                    elif p == "s":
                        bits |= 0o6000
                    elif p == "t":
                        bits |= 0o1000
            bits &= mask
            if op == "+":
                mode |= bits
            elif op == "-":
                mode &= ~bits
            else:
                mode = (mode & ~(mask & 0o7777)) | bits
    return mode & 0o7777
