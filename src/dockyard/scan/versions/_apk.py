"""Alpine apk version ordering (apk-tools ``apk_version_compare``).

``1.2.3a_rc1_p2-r4``: dot-separated numbers (the first compared as a number, later ones as
numbers unless they have a leading zero, then as fractions), one optional letter, suffixes
(``_alpha`` < ``_beta`` < ``_pre`` < ``_rc`` < none < ``_cvs`` < ``_svn`` < ``_git`` < ``_hg`` <
``_p``, each with an optional number), and the package release ``-rN``.
"""

from __future__ import annotations

import re

__all__ = ["compare_apk"]

_PRE = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3}
_POST = {"cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}
_NONE = 4
_FORMAT = re.compile(
    r"^(?P<nums>\d+(?:\.\d+)*)(?P<letter>[a-z]?)(?P<suffixes>(?:_[a-z]+\d*)*)"
    r"(?:~(?P<hash>[0-9a-f]+))?(?:-r(?P<rel>\d+))?$"
)


def _key(v: str) -> tuple[object, ...]:
    m = _FORMAT.match(v.strip())
    if not m:
        return ((), "", ((_NONE, 0),), "", 0, v)
    nums = m.group("nums").split(".")
    parts: list[tuple[int, int | str]] = [(0, int(nums[0]))]
    for n in nums[1:]:
        # a leading zero makes the part a fraction (compared digit by digit as a string)
        parts.append((1, n.rstrip("0") or "0") if n.startswith("0") and len(n) > 1 else (0, int(n)))
    suffixes = []
    for s in re.findall(r"_([a-z]+)(\d*)", m.group("suffixes")):
        rank = _PRE.get(s[0], _POST.get(s[0], _NONE))
        suffixes.append((rank, int(s[1] or 0)))
    suffixes.append((_NONE, 0))
    return (
        tuple(parts),
        m.group("letter"),
        tuple(suffixes),
        m.group("hash") or "",
        int(m.group("rel") or 0),
        "",
    )


def _cmp_parts(a: tuple[tuple[int, int | str], ...], b: tuple[tuple[int, int | str], ...]) -> int:
    for (ka, va), (kb, vb) in zip(a, b, strict=False):
        if ka == kb == 0:
            assert isinstance(va, int) and isinstance(vb, int)
            if va != vb:
                return -1 if va < vb else 1
        elif ka == kb == 1:
            sa, sb = str(va), str(vb)
            if sa != sb:
                return -1 if sa < sb else 1
        else:
            return -1 if ka > kb else 1  # a fraction sorts before a number
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    return 0


def compare_apk(a: str, b: str) -> int:
    ka, kb = _key(a), _key(b)
    c = _cmp_parts(ka[0], kb[0])  # type: ignore[arg-type]
    if c:
        return c
    for x, y in zip(ka[1:], kb[1:], strict=True):
        if x != y:
            return -1 if x < y else 1  # type: ignore[operator]
    return 0
