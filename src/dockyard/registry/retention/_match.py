"""Doublestar patterns, as Harbor's retention selectors use them: the same language and the
same matcher as the tag-immutability rules (:mod:`dockyard.registry.immutability`)."""

from __future__ import annotations

from dockyard.registry.immutability import compile_pattern, match

__all__ = ["check_pattern", "matches"]


def check_pattern(pattern: str) -> str:
    """``pattern`` when it is a valid doublestar pattern; else InvalidArgument (BadPattern)."""
    compile_pattern(pattern)
    return pattern


def matches(pattern: str, value: str) -> bool:
    """Whether the whole of ``value`` matches ``pattern``."""
    return match(pattern, value)
