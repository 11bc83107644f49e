"""The build context: which files a build may read, after ``.dockerignore``.

``ignore_patterns`` finds ``<Dockerfile>.dockerignore`` next to the Dockerfile, else
``.dockerignore`` at the context root (BuildKit's order). ``walk_context`` walks a directory and
yields the included entries; ``read_tar_context`` unpacks a tar context (``-`` on the command
line) into a directory safely, applying the same patterns.
"""

from __future__ import annotations

import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from dockyard.dockerfile.dockerignore import PatternMatcher, read_ignore_file
from dockyard.errors import InvalidArgument, NotFound

__all__ = ["ContextEntry", "ignore_patterns", "read_tar_context", "walk_context"]


@dataclass(frozen=True)
class ContextEntry:
    """One included path (relative, ``/``-separated) with its ``lstat`` result."""

    path: str
    stat: os.stat_result

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.stat.st_mode)


def ignore_patterns(context: Path, dockerfile: Path | None = None) -> list[str]:
    """The ignore patterns that apply to a build of ``context`` with ``dockerfile``."""
    candidates = []
    if dockerfile is not None:
        candidates.append(dockerfile.with_name(dockerfile.name + ".dockerignore"))
    candidates.append(context / ".dockerignore")
    for path in candidates:
        if path.is_file():
            return read_ignore_file(path.read_bytes())
    return []


def walk_context(context: Path, patterns: list[str] | None = None) -> Iterator[ContextEntry]:
    """Included entries of ``context`` in sorted order; excluded directories are pruned
    unless an exception (``!``) may re-include something below them, in which case the
    directory is yielded only if something below it is."""
    if not context.is_dir():
        raise NotFound(f"build context {str(context)!r} is not a directory")
    matcher = PatternMatcher(patterns or [])
    yield from _walk(context, "", matcher, [])


def _walk(
    root: Path, rel: str, matcher: PatternMatcher, pending: list[ContextEntry]
) -> Iterator[ContextEntry]:
    base = root / rel if rel else root
    try:
        names = sorted(os.listdir(base))
    except OSError as e:
        raise InvalidArgument(f"cannot read build context directory {str(base)!r}: {e}") from None
    for name in names:
        path = f"{rel}/{name}" if rel else name
        st = os.lstat(root / path)
        entry = ContextEntry(path, st)
        excluded = matcher.matches(path)
        is_dir = stat.S_ISDIR(st.st_mode)
        if excluded:
            if is_dir and matcher.exclusions and matcher.may_include_below(path):
                yield from _walk(root, path, matcher, [*pending, entry])
            continue
        yield from pending
        pending.clear()
        yield entry
        if is_dir:
            yield from _walk(root, path, matcher, [])


def read_tar_context(stream: IO[bytes], dest: Path, patterns: list[str] | None = None) -> list[str]:
    """Unpack a tar build context into ``dest`` (no absolute paths, no ``..``, no device
    files), skipping what ``patterns`` exclude (or, when ``None``, what the tar's own
    ``.dockerignore`` excludes). Returns the paths written."""
    dest.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        members = []
        for member in tar:
            name = os.path.normpath(member.name).lstrip("/")
            if name.startswith("..") or name in (".", ""):
                continue
            if not (member.isfile() or member.isdir() or member.issym()):
                continue
            member.name = name
            tar.extract(member, dest, filter="tar")
            members.append(name)
    if patterns is None:
        ignore = dest / ".dockerignore"
        patterns = read_ignore_file(ignore.read_bytes()) if ignore.is_file() else []
    matcher = PatternMatcher(patterns)
    for name in sorted(members, reverse=True):
        if matcher.matches(name):
            target = dest / name
            if target.is_dir() and not target.is_symlink():
                try:
                    target.rmdir()
                except OSError:
                    continue  # something below is re-included
            else:
                target.unlink(missing_ok=True)
        else:
            written.append(name)
    return sorted(written)
