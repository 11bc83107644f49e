"""RPM version ordering (rpmvercmp): ``[epoch:]version[-release]``, ``~`` before, ``^`` after."""

from __future__ import annotations

import re

__all__ = ["compare_rpm", "rpmvercmp"]

_SEGMENT = re.compile(r"(\d+|[A-Za-z]+|~|\^)")


def rpmvercmp(a: str, b: str) -> int:
    if a == b:
        return 0
    i = j = 0
    while True:
        while i < len(a) and not (a[i].isalnum() or a[i] in "~^"):
            i += 1
        while j < len(b) and not (b[j].isalnum() or b[j] in "~^"):
            j += 1
        # tilde sorts before everything, even the end of the string
        if (i < len(a) and a[i] == "~") or (j < len(b) and b[j] == "~"):
            if not (i < len(a) and a[i] == "~"):
                return 1
            if not (j < len(b) and b[j] == "~"):
                return -1
            i += 1
            j += 1
            continue
        # caret sorts after the end of the string but before anything else
        if (i < len(a) and a[i] == "^") or (j < len(b) and b[j] == "^"):
            if i >= len(a):
                return -1
            if j >= len(b):
                return 1
            if a[i] != "^":
                return 1
            if b[j] != "^":
                return -1
            i += 1
            j += 1
            continue
        if i >= len(a) or j >= len(b):
            break
        ma = _SEGMENT.match(a, i)
        mb = _SEGMENT.match(b, j)
        assert ma is not None and mb is not None
        sa, sb = ma.group(0), mb.group(0)
        if sa[0].isdigit() != sb[0].isdigit():
            return 1 if sa[0].isdigit() else -1
        if sa[0].isdigit():
            na, nb = sa.lstrip("0"), sb.lstrip("0")
            if len(na) != len(nb):
                return 1 if len(na) > len(nb) else -1
            if na != nb:
                return 1 if na > nb else -1
        elif sa != sb:
            return 1 if sa > sb else -1
        i, j = ma.end(), mb.end()
    if i >= len(a) and j >= len(b):
        return 0
    return -1 if i >= len(a) else 1


def _evr(text: str) -> tuple[int, str, str]:
    epoch = 0
    if ":" in text:
        e, _, text = text.partition(":")
        epoch = int(e) if e.isdigit() else 0
    version, _, release = text.partition("-") if "-" in text else (text, "", "")
    if "-" in text:
        version, _, release = text.rpartition("-")
    return epoch, version, release


def compare_rpm(a: str, b: str) -> int:
    ea, va, ra = _evr(a)
    eb, vb, rb = _evr(b)
    if ea != eb:
        return -1 if ea < eb else 1
    c = rpmvercmp(va, vb)
    if c or not ra or not rb:
        return c
    return rpmvercmp(ra, rb)
