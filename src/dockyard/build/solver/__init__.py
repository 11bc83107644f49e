"""The builder's solver: cache keys, scheduling and export, over the frontend and the worker.

``build(store, BuildOptions(...))`` parses the Dockerfile, builds the stages its target needs
(independent stages in parallel), takes every step it can from the content-keyed cache, and
writes the image to the store (or an archive, or a directory).
"""

from dockyard.build.solver._build import build
from dockyard.build.solver._cache import BuildCache, CachedLayer, cache_key
from dockyard.build.solver._cache_spec import CacheSpec, parse_cache_spec
from dockyard.build.solver._export import BuiltImage
from dockyard.build.solver._options import (
    BuildOptions,
    OutputSpec,
    parse_output,
    parse_secret,
    source_date_epoch,
)
from dockyard.build.solver._report import Reporter
from dockyard.build.solver._results import StageResult, StepFailed

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
