"""The image builder: Dockerfile frontend, solver, and the worker that does the I/O.

The API lives in the subpackages, imported by what they do:
:mod:`dockyard.builder.solver` builds (``build(store, BuildOptions(context=Path("."),
tags=["app:1"]))``), :mod:`dockyard.builder.cache` holds the build cache and prunes it
(``prune_cache(store)``, ``dockyard builder prune``), :mod:`dockyard.builder.frontend` reads
Dockerfiles into stages and steps, and :mod:`dockyard.builder.worker` does the file-system work.
This file imports nothing: the no-op rebuild loads it on its way to the cache's no-op records.
"""

__all__: list[str] = []
