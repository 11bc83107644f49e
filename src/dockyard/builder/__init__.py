"""The image builder: Dockerfile frontend, solver, and the worker that does the I/O.

``build(store, BuildOptions(context=Path("."), tags=["app:1"]))`` is the library entry point;
``prune_cache(store)`` removes build cache (``dockyard builder prune``).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not imported from typing: a no-op rebuild does not load typing
if TYPE_CHECKING:
    from typing import Any

    from dockyard.builder._inventory import CacheEntry
    from dockyard.builder._prune import PruneReport, prune_cache
    from dockyard.builder._prune_args import parse_prune_filters, parse_storage_size
    from dockyard.builder.solver import BuildOptions, BuiltImage, OutputSpec, StepFailed, build

__all__ = [
    "BuildOptions",
    "BuiltImage",
    "CacheEntry",
    "OutputSpec",
    "PruneReport",
    "StepFailed",
    "build",
    "parse_prune_filters",
    "parse_storage_size",
    "prune_cache",
]

#: where each public name lives
_WHERE = {
    "BuildOptions": "solver",
    "BuiltImage": "solver",
    "CacheEntry": "_inventory",
    "OutputSpec": "solver",
    "PruneReport": "_prune",
    "StepFailed": "solver",
    "build": "solver",
    "parse_prune_filters": "_prune_args",
    "parse_storage_size": "_prune_args",
    "prune_cache": "_prune",
}


def __getattr__(name: str) -> Any:
    # names load on first use, so that dockyard.builder._noop (a no-op rebuild) stays cheap;
    # not dockyard._lazy, which imports importlib (and warnings) at once
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
