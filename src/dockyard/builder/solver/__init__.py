"""The builder's solver: cache keys, scheduling and export, over the frontend and the worker.

``build(store, BuildOptions(...))`` parses the Dockerfile, builds the stages its target needs
(independent stages in parallel), takes every step it can from the content-keyed cache, and
writes the image to the store (or an archive, or a directory).
"""

from __future__ import annotations

from dockyard.builder.cache.records import BuildCache, CachedLayer, cache_key
from dockyard.builder.solver._build import build
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

__all__ = [
    "BuildCache",
    "BuildOptions",
    "BuiltImage",
    "CachedLayer",
    "OutputSpec",
    "Reporter",
    "StageResult",
    "StepFailed",
    "build",
    "cache_key",
    "parse_output",
    "parse_secret",
    "source_date_epoch",
]
