"""Containers from images in the local store, daemonless: ``run``, ``ps``, ``rm``, ``commit``,
``container prune``.

A container's root filesystem is an overlay (its own upper directory over an init layer of
mount points over the image's cached snapshot); its process runs in the foreground on crun or
runc, as the builder's RUN steps do. Containers are kept under ``<store>/containers/`` until
removed (see ``_records``).

``commit`` writes a layer, so it is the public module :mod:`dockyard.container.commit`
(``commit_container``): ``run``, ``ps`` and ``rm`` load no layer-writing code. A ``run`` of an
image whose snapshot exists (``run_snapshot``) does not open the store either: it reads the
tag, manifest and config as files and loads no image, content or metadata code.

The records on ``run``'s path (``RunOptions``, ``BindVolume``, ``ContainerRecord`` and the
private ones) are named tuples, not dataclasses: creating a frozen dataclass at import costs
that path several times more (benchmarks/RESULTS.md, ``dockyard run`` vs ``docker run``).
"""

from dockyard.container._manage import list_containers, prune_containers, remove_containers
from dockyard.container._options import (
    BindVolume,
    RunOptions,
    parse_env,
    parse_volume,
    read_env_file,
)
from dockyard.container._platform import check_platform
from dockyard.container._process import command_line, merge_env
from dockyard.container._ps import container_sizes, parse_ps_filters, select_containers
from dockyard.container._ps import state as container_state
from dockyard.container._records import ContainerRecord, ContainerStore
from dockyard.container._run import (
    container_store,
    remove_container,
    run_container,
    run_snapshot,
)

__all__ = [
    "BindVolume",
    "ContainerRecord",
    "ContainerStore",
    "RunOptions",
    "check_platform",
    "command_line",
    "container_sizes",
    "container_state",
    "container_store",
    "list_containers",
    "merge_env",
    "parse_env",
    "parse_ps_filters",
    "parse_volume",
    "prune_containers",
    "read_env_file",
    "remove_container",
    "remove_containers",
    "run_container",
    "run_snapshot",
    "select_containers",
]
