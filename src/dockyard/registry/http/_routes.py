"""Which handler a ``/v2/…`` path goes to. Names may contain '/', so the resource is found
from the end of the path; the name is validated before anything else sees it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from dockyard.registry._names import check_name

__all__ = ["Route", "Target", "match"]


class Route(Enum):
    BASE = "base"
    CATALOG = "catalog"
    TAGS = "tags"
    MANIFEST = "manifest"
    BLOB = "blob"
    UPLOADS = "uploads"
    UPLOAD = "upload"
    REFERRERS = "referrers"
    #: /v2/<name>/_<ext>/<rest> (the distribution spec's extension form); arg is "<ext>/<rest>"
    EXTENSION = "extension"


@dataclass(frozen=True, slots=True)
class Target:
    route: Route
    name: str = ""
    arg: str = ""


_PATTERNS = [
    # names have no "_"-prefixed component, so the first "/_" ends the name
    (Route.EXTENSION, re.compile(r"(.+?)/_([a-z0-9]+/.+)")),
    (Route.TAGS, re.compile(r"(.+)/tags/list()")),
    (Route.MANIFEST, re.compile(r"(.+)/manifests/([^/]+)")),
    (Route.UPLOADS, re.compile(r"(.+)/blobs/uploads/?()")),
    (Route.UPLOAD, re.compile(r"(.+)/blobs/uploads/([^/]+)")),
    (Route.BLOB, re.compile(r"(.+)/blobs/([^/]+)")),
    (Route.REFERRERS, re.compile(r"(.+)/referrers/([^/]+)")),
]


#: Paths seen recently and their targets (hot paths repeat: one dict lookup, no regex).
_recent: dict[str, Target | None] = {}
_RECENT_MAX = 8192


def match(path: str) -> Target | None:
    """The target of a path starting with ``/v2``; None when no route has that shape."""
    target = _recent.get(path)
    if target is None:
        target = _match(path)  # raises for a bad name: such paths are not remembered
        if len(_recent) >= _RECENT_MAX:
            _recent.clear()
        _recent[path] = target
    return target


def _match(path: str) -> Target | None:
    rest = path[3:]
    if rest in ("", "/"):
        return Target(Route.BASE)
    if rest == "/_catalog":
        return Target(Route.CATALOG)
    rest = rest[1:]
    for route, pattern in _PATTERNS:
        m = pattern.fullmatch(rest)
        if m is not None:
            return Target(route, check_name(m.group(1)), m.group(2))
    return None
