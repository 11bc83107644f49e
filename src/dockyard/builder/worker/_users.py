"""USER and --chown specs resolved against the image's /etc/passwd and /etc/group, as Docker does.

``name``, ``uid``, ``name:group``, ``uid:gid`` and mixes: names must exist in the image's files,
numbers need not. Without a group the user's primary group from /etc/passwd is used (0 for an
unknown uid), and, for USER, the groups of /etc/group that list the user are added.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from dockyard.builder.worker._scope import resolve_in_root
from dockyard.errors import InvalidArgument

__all__ = ["ResolvedUser", "resolve_chown", "resolve_user"]


class ResolvedUser(NamedTuple):
    uid: int
    gid: int
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    name: str = ""


def _read_db(root: Path, name: str) -> list[list[str]]:
    path = resolve_in_root(root, f"/etc/{name}")
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return []
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            rows.append(line.split(":"))
    return rows


def _number(text: str) -> int | None:
    if text.isdigit():
        value = int(text)
        if value < 2**32 - 1:
            return value
    return None


def _find_group(root: Path, spec: str) -> int:
    for row in _read_db(root, "group"):
        if len(row) >= 3 and row[0] == spec and (gid := _number(row[2])) is not None:
            return gid
    number = _number(spec)
    if number is not None:
        return number
    raise InvalidArgument(
        f"unable to find group {spec}: no matching entries in group file; "
        "use a numeric gid or add the group to the image's /etc/group"
    )


def _split(spec: str) -> tuple[str, str | None]:
    if not spec:
        return "0", None
    user, sep, group = spec.partition(":")
    if not user or (sep and not group):
        raise InvalidArgument(f"invalid user spec {spec!r}: use user, uid, user:group or uid:gid")
    return user, (group if sep else None)


def resolve_user(root: Path, spec: str) -> ResolvedUser:
    """The process identity for ``USER spec`` (empty means root) in the image at ``root``."""
    user, group = _split(spec)
    passwd = _read_db(root, "passwd")
    entry = next((row for row in passwd if len(row) >= 4 and row[0] == user), None)
    if entry is None and _number(user) is not None:
        entry = next((row for row in passwd if len(row) >= 4 and row[2] == user), None)
    if entry is None:
        uid = _number(user)
        if uid is None:
            raise InvalidArgument(
                f"unable to find user {user}: no matching entries in passwd file; "
                "use a numeric uid or create the user in an earlier step"
            )
        name, gid, home = "", 0, "/"
    else:
        name, home = entry[0], (entry[5] if len(entry) > 5 and entry[5] else "/")
        uid = _number(entry[2]) or 0
        gid = _number(entry[3]) or 0
    extra: list[int] = []
    if group is not None:
        gid = _find_group(root, group)
    elif name:
        for row in _read_db(root, "group"):
            if len(row) >= 4 and name in row[3].split(","):
                number = _number(row[2])
                if number is not None and number != gid and number not in extra:
                    extra.append(number)
    return ResolvedUser(uid, gid, tuple(extra), home, name)


def resolve_chown(root: Path, spec: str) -> tuple[int, int]:
    """``(uid, gid)`` for ``COPY --chown=spec``: a user alone means its primary group for a name,
    and the same number as the uid for a numeric user (Docker's rule)."""
    user, group = _split(spec)
    uid_number = _number(user)
    if uid_number is not None and group is None:
        return uid_number, uid_number
    uid = uid_number if uid_number is not None else resolve_user(root, user).uid
    if group is None:
        return uid, resolve_user(root, user).gid
    return uid, _find_group(root, group)
