"""The build cache, all of it under ``<store>/build``, one public module per job, imported by
what it does:

- :mod:`~dockyard.builder.cache.records`: step records (``cache.db``; every statement on it),
  ``BuildCache``, ``CachedLayer``, ``cache_key``;
- :mod:`~dockyard.builder.cache.checksums`: the checksum index of build contexts
  (``checksums.db``), ``ChecksumIndex``;
- :mod:`~dockyard.builder.cache.noop`: no-op rebuild records (``noop/``), read before the
  command line loads;
- :mod:`~dockyard.builder.cache.prune` and :mod:`~dockyard.builder.cache.prune_args`:
  ``dockyard builder prune`` (``prune_cache``; ``parse_prune_filters``, ``parse_storage_size``);
- :mod:`~dockyard.builder.cache.spec` and :mod:`~dockyard.builder.cache.transfer`:
  ``--cache-from``/``--cache-to`` (``parse_cache_spec``, ``CacheSpec``; ``export_cache``,
  ``ImportedCache``, ``CacheRecord``).

This file imports nothing: the no-op rebuild pays for the package with this docstring alone.
"""

__all__: list[str] = []
