"""Which files a COPY/ADD reads: its source arguments matched against a source root."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dockyard.builder.worker._match import has_magic, match_component
from dockyard.builder.worker._scope import clean_path, resolve_in_root
from dockyard.errors import NotFound

__all__ = ["SourceMatch", "match_sources"]


@dataclass(frozen=True)
class SourceMatch:
    """One matched source: ``path`` as named in the root, ``host`` its file (a top-level symlink
    followed), and ``parents_rel``, the part ``--parents`` keeps (after a ``/./`` pivot)."""

    path: str
    host: Path
    parents_rel: str


def _parents_rel(pattern: str, path: str) -> str:
    if "/./" in "/" + pattern:
        prefix = clean_path(("/" + pattern).split("/./", 1)[0])
        rel = os.path.relpath(path, prefix)
        return "" if rel == "." else rel
    return path.lstrip("/")


def _glob(root: Path, pattern: str) -> list[str]:
    matches = ["/"]
    for part in clean_path(pattern).strip("/").split("/"):
        if not part:
            continue
        found: list[str] = []
        for base in matches:
            host = resolve_in_root(root, base)
            if not has_magic(part):
                candidate = base.rstrip("/") + "/" + part
                if os.path.lexists(resolve_in_root(root, candidate, follow_last=False)):
                    found.append(candidate)
                continue
            try:
                names = sorted(os.listdir(host), key=os.fsencode)
            except (NotADirectoryError, FileNotFoundError):
                continue
            found.extend(base.rstrip("/") + "/" + n for n in names if match_component(part, n))
        matches = found
    return matches


def match_sources(
    root: Path, patterns: Sequence[str], *, allow_empty_wildcard: bool = True
) -> list[SourceMatch]:
    """Every source ``patterns`` name under ``root``, in order; a missing literal is an error."""
    out: list[SourceMatch] = []
    for pattern in patterns:
        if has_magic(pattern):
            paths = _glob(root, pattern)
            if not paths and not allow_empty_wildcard:
                raise NotFound(f'no source files were specified: "{pattern}" matches nothing')
        else:
            path = clean_path(pattern)
            if not os.path.lexists(resolve_in_root(root, path)):
                raise NotFound(
                    f'"{path}": not found',
                    hint="check the path is in the build context and not excluded by .dockerignore",
                )
            paths = [path]
        for path in paths:
            out.append(SourceMatch(path, resolve_in_root(root, path), _parents_rel(pattern, path)))
    return out
