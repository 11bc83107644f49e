"""Debian version ordering (deb-version(7), Debian Policy §5.6.12): epoch, upstream, revision."""

from __future__ import annotations

import re
from functools import cmp_to_key

from dockyard.errors import InvalidArgument

__all__ = ["compare_dpkg", "dpkg_key"]

_VALID = re.compile(r"^(?:(\d+):)?([0-9][A-Za-z0-9.+~:-]*?)(?:-([A-Za-z0-9.+~]+))?$")


def _split(version: str) -> tuple[int, str, str]:
    version = version.strip()
    m = _VALID.match(version)
    if not m:
        # be lenient with upstream versions that do not start with a digit, as dpkg warns only
        epoch, _, rest = version.rpartition(":") if ":" in version else ("0", "", version)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
        if not upstream:
            raise InvalidArgument(f"invalid Debian version {version!r}")
        return int(epoch or 0) if epoch.isdigit() else 0, upstream, revision
    return int(m.group(1) or 0), m.group(2), m.group(3) or ""


def _order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return ac - bc
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return first_diff
    return 0


def compare_dpkg(a: str, b: str) -> int:
    """<0, 0, >0 as ``a`` sorts before, equal to, after ``b`` (dpkg --compare-versions)."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    c = _verrevcmp(ua, ub)
    if c:
        return -1 if c < 0 else 1
    c = _verrevcmp(ra, rb)
    return -1 if c < 0 else (1 if c > 0 else 0)


dpkg_key = cmp_to_key(compare_dpkg)
