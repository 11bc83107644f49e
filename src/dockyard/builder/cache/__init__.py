"""The build cache, all of it under ``<store>/build``: step records (``cache.db``), the
checksum index of build contexts (``checksums.db``), no-op rebuild records (``noop/``), the
inventory of what it holds, prune, and import/export (``--cache-from``/``--cache-to``).

One module per job; each database's SQL lives in one module (``_records``: ``cache.db``,
``_checksums``: ``checksums.db``). Names load their module on first use, so that the no-op
rebuild (:mod:`dockyard.builder.cache.noop`, imported before the command line loads) pays for
this package with nothing but this file.
"""

from __future__ import annotations

from dockyard._lazy import lazy_exports

TYPE_CHECKING = False  # typing is not loaded on the no-op path
if TYPE_CHECKING:
    from dockyard.builder.cache._checksums import ChecksumIndex
    from dockyard.builder.cache._inventory import CacheEntry
    from dockyard.builder.cache._lock import BuildLock
    from dockyard.builder.cache._prune import PruneReport, prune_cache
    from dockyard.builder.cache._prune_args import parse_prune_filters, parse_storage_size
    from dockyard.builder.cache._records import BuildCache, CachedLayer, cache_key
    from dockyard.builder.cache._spec import CacheSpec, parse_cache_spec
    from dockyard.builder.cache._transfer import CacheRecord, ImportedCache, export_cache

__all__ = [
    "BuildCache",
    "BuildLock",
    "CacheEntry",
    "CacheRecord",
    "CacheSpec",
    "CachedLayer",
    "ChecksumIndex",
    "ImportedCache",
    "PruneReport",
    "cache_key",
    "export_cache",
    "parse_cache_spec",
    "parse_prune_filters",
    "parse_storage_size",
    "prune_cache",
]

_WHERE = {
    "BuildCache": "_records",
    "BuildLock": "_lock",
    "CacheEntry": "_inventory",
    "CacheRecord": "_transfer",
    "CacheSpec": "_spec",
    "CachedLayer": "_records",
    "ChecksumIndex": "_checksums",
    "ImportedCache": "_transfer",
    "PruneReport": "_prune",
    "cache_key": "_records",
    "export_cache": "_transfer",
    "parse_cache_spec": "_spec",
    "parse_prune_filters": "_prune_args",
    "parse_storage_size": "_prune_args",
    "prune_cache": "_prune",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
