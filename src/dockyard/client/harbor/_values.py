"""What users type for the team API, turned into what Harbor's API takes: role names, robot
permissions, storage sizes, ``--since`` times, and CLI secrets."""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dockyard.client.harbor._models import Access, RobotPermission
from dockyard.errors import InvalidArgument

__all__ = [
    "ROLES",
    "PermissionSpec",
    "group_permissions",
    "new_cli_secret",
    "parse_permission",
    "parse_since",
    "parse_size",
    "query_time",
    "role_id",
    "role_name",
]

#: Harbor's project roles and their ids.
ROLES: dict[str, int] = {
    "projectAdmin": 1,
    "developer": 2,
    "guest": 3,
    "maintainer": 4,
    "limitedGuest": 5,
}
_ROLE_NAMES = {v: k for k, v in ROLES.items()}


def role_id(name: str) -> int:
    for known, number in ROLES.items():
        if known.lower() == name.lower():
            return number
    raise InvalidArgument(f"unknown role {name!r}", hint=f"use one of {', '.join(ROLES)}")


def role_name(number: int) -> str:
    return _ROLE_NAMES.get(number, str(number))


@dataclass(frozen=True, slots=True)
class PermissionSpec:
    """One ``--permission``: KIND:NAMESPACE:RESOURCE:ACTION[,ACTION…]."""

    kind: str
    namespace: str
    resource: str
    actions: tuple[str, ...]


_WORD = re.compile(r"[A-Za-z0-9*][A-Za-z0-9._*-]*")


def parse_permission(text: str, *, project: str | None = None) -> PermissionSpec:
    """``project:team:repository:pull,push``, ``system:/:audit-log:list``, or (for a project
    robot) the short ``repository:pull,push``."""
    parts = text.split(":")
    if len(parts) == 2 and project is not None:
        parts = ["project", project, *parts]
    example = "e.g. project:team:repository:pull,push or system:/:project:create"
    if len(parts) != 4:
        raise InvalidArgument(
            f"permission {text!r} is not KIND:NAMESPACE:RESOURCE:ACTIONS", hint=example
        )
    kind, namespace, resource, actions = parts
    if kind not in ("project", "system"):
        raise InvalidArgument(
            f"permission {text!r}: the kind must be project or system, not {kind!r}", hint=example
        )
    if kind == "system" and namespace != "/":
        raise InvalidArgument(f"permission {text!r}: a system permission's namespace is '/'")
    if kind == "project" and not _WORD.fullmatch(namespace):
        raise InvalidArgument(f"permission {text!r}: {namespace!r} is not a project name")
    names = tuple(a for a in actions.split(",") if a)
    if not _WORD.fullmatch(resource) or not names or not all(_WORD.fullmatch(a) for a in names):
        raise InvalidArgument(f"permission {text!r}: name a resource and its actions", hint=example)
    if project is not None and (kind, namespace) != ("project", project):
        raise InvalidArgument(
            f"permission {text!r} is not for project {project!r}",
            hint="a project robot's permissions are all in its own project",
        )
    return PermissionSpec(kind, namespace, resource, names)


def group_permissions(specs: list[PermissionSpec]) -> list[RobotPermission]:
    """Harbor's permission list: one entry per (kind, namespace) with every access in it."""
    grouped: dict[tuple[str, str], list[Access]] = {}
    for spec in specs:
        accesses = grouped.setdefault((spec.kind, spec.namespace), [])
        for action in spec.actions:
            access = Access(spec.resource, action)
            if access not in accesses:
                accesses.append(access)
    return [RobotPermission(k, ns, tuple(a)) for (k, ns), a in grouped.items()]


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}


def parse_size(text: str) -> int:
    """Bytes from ``10G``, ``512MiB``, ``1.5TB``, ``1024`` (binary units, as docker's
    ``--memory`` and Harbor's quota page count); ``-1`` is unlimited."""
    value = text.strip()
    if value == "-1":
        return -1
    m = _SIZE.fullmatch(value)
    if m is None:
        raise InvalidArgument(
            f"size {text!r} is not a number of bytes", hint="e.g. 10G, 512MiB, 1024, or -1"
        )
    size = int(float(m.group(1)) * 1024 ** _POWERS[m.group(2).lower()])
    if size >= 2**63:
        raise InvalidArgument(f"size {text!r} is too large")
    return size


_AGO = re.compile(r"(\d+)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A moment from ``24h``/``30m``/``7d``/``2w`` ago, or an ISO date or time (UTC unless it
    says otherwise)."""
    now = now or datetime.now(UTC)
    value = text.strip()
    m = _AGO.fullmatch(value)
    if m is not None:
        return now - timedelta(seconds=int(m.group(1)) * _UNIT_SECONDS[m.group(2)])
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"--since {text!r} is neither a duration nor a date",
            hint="e.g. 24h, 7d, 2024-05-01 or 2024-05-01T12:00:00Z",
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def query_time(when: datetime) -> str:
    """A time as Harbor's ``q=`` reads one (``2006-01-02T15:04:05``, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


_ALPHABET = string.ascii_letters + string.digits


def new_cli_secret(length: int = 32) -> str:
    """A random secret that meets Harbor's rule for CLI secrets and passwords (8-128
    characters with an upper-case letter, a lower-case letter and a digit)."""
    while True:
        secret = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c.isupper() for c in secret)
            and any(c.islower() for c in secret)
            and any(c.isdigit() for c in secret)
        ):
            return secret
