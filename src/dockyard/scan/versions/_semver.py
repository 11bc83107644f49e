"""Semantic Versioning 2.0.0 ordering (semver.org §11); also Go module versions.

Build metadata (``+...``) is ignored. Go pseudo-versions (``v0.0.0-20191109021931-daa7c04131f5``)
are pre-releases whose identifiers order them by commit time, so plain SemVer precedence orders
them correctly; ``+incompatible`` is build metadata.
"""

from __future__ import annotations

import re

__all__ = ["compare_semver"]

_SEMVER = re.compile(
    r"^v?(?P<major>\d+)(?:\.(?P<minor>\d+))?(?:\.(?P<patch>\d+))?(?:\.(?P<extra>\d+))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)


def _key(v: str) -> tuple[tuple[int, int, int, int], list[tuple[int, int | str]] | None]:
    m = _SEMVER.match(v.strip())
    if not m:
        raise ValueError(f"not a semantic version: {v!r}")
    core = tuple(int(m.group(k) or 0) for k in ("major", "minor", "patch", "extra"))
    pre = m.group("pre")
    ids: list[tuple[int, int | str]] | None = None
    if pre is not None:
        ids = [(0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")]
    return core, ids  # type: ignore[return-value]


def compare_semver(a: str, b: str) -> int:
    (ca, pa), (cb, pb) = _key(a), _key(b)
    if ca != cb:
        return -1 if ca < cb else 1
    if pa is None or pb is None:
        if pa is pb:
            return 0
        return 1 if pa is None else -1  # a release is greater than its pre-releases
    for x, y in zip(pa, pb, strict=False):
        if x != y:
            if x[0] != y[0]:
                return -1 if x[0] < y[0] else 1  # numeric identifiers sort first
            return -1 if x[1] < y[1] else 1  # type: ignore[operator]
    if len(pa) != len(pb):
        return -1 if len(pa) < len(pb) else 1
    return 0
