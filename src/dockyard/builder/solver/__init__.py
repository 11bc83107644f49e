"""The builder's solver: cache keys, scheduling and export, over the frontend and the worker.

``build(store, BuildOptions(...))`` parses the Dockerfile, builds the stages its target needs
(independent stages in parallel), takes every step it can from the content-keyed cache, and
writes the image to the store (or an archive, or a directory).
"""

from __future__ import annotations

from dockyard.builder.solver._build import build
from dockyard.builder.solver._cache import BuildCache, CachedLayer, cache_key
from dockyard.builder.solver._export import BuiltImage
from dockyard.builder.solver._options import (
    BuildOptions,
    OutputSpec,
    parse_output,
    parse_secret,
    source_date_epoch,
)
from dockyard.builder.solver._report import Reporter
from dockyard.builder.solver._results import StageResult, StepFailed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.builder.solver._cache_spec import CacheSpec

__all__ = [
    "BuildCache",
    "BuildOptions",
    "BuiltImage",
    "CacheSpec",
    "CachedLayer",
    "OutputSpec",
    "Reporter",
    "StageResult",
    "StepFailed",
    "build",
    "cache_key",
    "parse_cache_spec",
    "parse_output",
    "parse_secret",
    "source_date_epoch",
]


def parse_cache_spec(text: str, *, export: bool) -> CacheSpec:
    """Parse a ``--cache-from`` (or, with ``export``, ``--cache-to``) value.

    The cache-spec module (and its record class) loads here, when a build names a cache
    location, not with this package."""
    from dockyard.builder.solver import _cache_spec

    return _cache_spec.parse_cache_spec(text, export=export)


def __getattr__(name: str) -> object:
    if name == "CacheSpec":  # loads on first use, as parse_cache_spec does
        from dockyard.builder.solver._cache_spec import CacheSpec

        return CacheSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
