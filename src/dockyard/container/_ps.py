"""``ps``'s choice of containers, as docker's daemon makes it: ``--filter`` (id, name, status,
exited, ancestor, before, since), ``-n/--last`` and ``-l/--latest``, and ``-s`` sizes.

Filters of one key match when any of their values does; different keys must all match.
``id`` and ``name`` are regular expressions searched in the full ID and in ``/NAME``;
``ancestor`` is an image (name[:tag], name@digest or ID) and matches containers of that image
and of the images built on it (whose layers start with its layers). ``status``, ``before``,
and ``--last`` also list stopped containers, as ``-a`` does; ``exited``, ``before`` and
``since`` do not (docker's daemon since 1.13).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from dockyard.container._manage import _size
from dockyard.container._records import ContainerRecord, ContainerStore
from dockyard.container._run import container_store
from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.digest import Digest
    from dockyard.local import LocalStore

__all__ = ["FILTER_KEYS", "STATES", "container_sizes", "parse_ps_filters", "select_containers"]

#: ``--filter`` keys ``ps`` takes (docker's label, volume, network, publish, expose, health,
#: isolation and is-task have nothing to match here: dockyard containers have none of them)
FILTER_KEYS = ("ancestor", "before", "exited", "id", "name", "since", "status")
#: docker's container states (``status=`` takes these)
STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
#: ``--filter`` values ``ps`` takes, at most
MAX_FILTERS = 64


def parse_ps_filters(specs: Sequence[str]) -> dict[str, list[str]]:
    """``KEY=VALUE`` filters by key; InvalidArgument, as docker words it, for a bad one."""
    if len(specs) > MAX_FILTERS:
        raise InvalidArgument(f"{len(specs)} filters; ps takes at most {MAX_FILTERS}")
    filters: dict[str, list[str]] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not sep:
            raise InvalidArgument(
                "bad format of filter (expected name=value)", hint="--filter takes KEY=VALUE"
            )
        key, value = key.strip().lower(), value.strip()
        if key not in FILTER_KEYS:
            raise InvalidArgument(
                f"invalid filter '{key}'", hint="ps filters on " + ", ".join(FILTER_KEYS)
            )
        if key == "status" and value not in STATES:
            raise InvalidArgument(
                f"invalid filter 'status={value}'", hint="a status is one of " + ", ".join(STATES)
            )
        if key == "exited":
            try:
                int(value)
            except ValueError:
                raise InvalidArgument(
                    f"invalid filter 'exited={value}'", hint="exited takes an exit code"
                ) from None
        filters.setdefault(key, []).append(value)
    return filters


def state(record: ContainerRecord) -> str:
    """docker's state string: running, created or exited (a ``run`` that was killed left
    "running" behind: it exited)."""
    if record.is_running():
        return "running"
    return "created" if record.status == "created" else "exited"


def _searched(patterns: list[str], text: str) -> bool:
    """docker's ``filters.Match``: equal to a value, or a value's regular expression found in
    it (an invalid one matches nothing)."""
    import re  # not on ``run``'s path, which imports this package

    for pattern in patterns:
        if pattern == text:
            return True
        with contextlib.suppress(re.error):
            if re.search(pattern, text):
                return True
    return False


def _ancestry(store: LocalStore, values: list[str]) -> Callable[[ContainerRecord], bool]:
    """Whether a container runs one of the images ``values`` name, or an image built on one.
    An image that is not in the store matches nothing (docker only logs it)."""
    from dockyard.digest import Digest
    from dockyard.image.blob import BlobIndex, open_any
    from dockyard.image.store import StoreSource
    from dockyard.imageservice import find_image, summaries
    from dockyard.oci import ImageConfig

    images = summaries(store)
    ids: set[str] = set()
    layer_chains: list[tuple[Digest, ...]] = []
    for text in values:
        try:
            found = find_image(text, images)
        except DockyardError:
            continue
        ids |= {str(found.id), str(found.descriptor.digest)}
        configs = [found.config] if found.config is not None else []
        with contextlib.suppress(DockyardError):
            root = open_any(StoreSource(store), found.descriptor)
            if isinstance(root, BlobIndex):
                for child in root.index().manifests:
                    ids.add(str(child.digest))
                    with contextlib.suppress(DockyardError):
                        config = root.image(child).config()
                        ids.add(str(config.digest))
                        configs.append(config)
        layer_chains += [tuple(c.diff_ids) for c in configs if c.diff_ids]

    def diff_ids(record: ContainerRecord) -> tuple[Digest, ...]:
        try:
            raw = store.content.read_bytes(Digest.parse(record.image_id))
            return tuple(ImageConfig.parse(raw).diff_ids)
        except (DockyardError, ValueError):
            return ()

    def test(record: ContainerRecord) -> bool:
        if record.image_id in ids or record.manifest in ids:
            return True
        if not layer_chains:
            return False
        layers = diff_ids(record)
        return any(layers[: len(chain)] == chain for chain in layer_chains)

    return test


def select_containers(
    store: LocalStore,
    *,
    all: bool = False,
    last: int = -1,
    filters: dict[str, list[str]] | None = None,
) -> list[ContainerRecord]:
    """The containers ``ps`` lists, newest first: running ones, or every one with ``all``
    (and with a ``status`` filter, or ``last``), filtered, then the ``last`` newest when it is
    above 0."""
    filters = filters or {}
    containers: ContainerStore = container_store(store)
    records = containers.all()
    every = all or last > 0 or "status" in filters
    newest_first = [r.id for r in records]
    # before=X: created before X (older); since=X: created after X; several: the narrowest
    lower, upper = len(records), -1
    for value in filters.get("before", []):
        upper = max(upper, newest_first.index(containers.find(value).id))
    for value in filters.get("since", []):
        lower = min(lower, newest_first.index(containers.find(value).id))
    exited = {int(v) for v in filters.get("exited", [])}
    ancestor = _ancestry(store, filters["ancestor"]) if "ancestor" in filters else None
    chosen: list[ContainerRecord] = []
    for position, record in enumerate(records):
        if position <= upper or position >= lower:
            continue
        current = state(record)
        if not every and current != "running":
            continue
        if "name" in filters and not _searched(filters["name"], "/" + record.name):
            continue
        if "id" in filters and not _searched(filters["id"], record.id):
            continue
        if exited and (current == "running" or record.exit_code not in exited):
            continue
        if "status" in filters and current not in filters["status"]:
            continue
        if ancestor is not None and not ancestor(record):
            continue
        chosen.append(record)
        if 0 < last == len(chosen):
            break
    return chosen


def container_sizes(store: LocalStore, record: ContainerRecord) -> tuple[int, int]:
    """``(writable layer, writable layer + image)`` in bytes, as ``ps -s`` shows them (the
    image's size as ``images`` shows it; 0 for an image no longer in the store)."""
    from dockyard.digest import Digest
    from dockyard.oci import parse_manifest_or_index
    from dockyard.oci.manifest import Manifest

    rw = _size(container_store(store).directory(record.id) / "upper")
    image = 0
    with contextlib.suppress(DockyardError, ValueError):
        parsed = parse_manifest_or_index(store.content.read_bytes(Digest.parse(record.manifest)))
        if isinstance(parsed, Manifest):
            image = sum(layer.size for layer in parsed.layers)
    return rw, rw + image
