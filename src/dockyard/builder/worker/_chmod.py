"""``--chmod`` for the worker: the frontend's chmod rules (one implementation), as a function."""

from __future__ import annotations

from collections.abc import Callable

from dockyard.dockerfile.chmod import apply_chmod, check_chmod
from dockyard.errors import InvalidArgument

__all__ = ["parse_chmod"]


def parse_chmod(spec: str) -> Callable[[int, bool], int]:
    """A function ``(current mode bits, is_dir) → new mode bits`` for ``spec``."""
    try:
        check_chmod(spec)
    except ValueError as exc:
        raise InvalidArgument(
            f"invalid --chmod value {spec!r}: use octal (0755) or symbolic (u+x,go-w)"
        ) from exc
    return lambda mode, is_dir: apply_chmod(spec, mode & 0o7777, is_dir)
