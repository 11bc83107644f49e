"""``commit``: a container's changes (its overlay upper directory) as a new image layer.

The layer is the upper directory diffed against the lower layers (whiteouts for deletions,
opaque directories, as ``docker commit`` writes them); the image config is the container's:
its Entrypoint, Cmd, Env, WorkingDir and User, with a history entry for the new layer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dockyard.builder.worker import BUILD_DIR, SnapshotManager
from dockyard.container._records import ContainerRecord
from dockyard.container._run import container_store
from dockyard.digest import Digest
from dockyard.errors import Conflict, InvalidArgument
from dockyard.image.blob import BlobImage, open_any
from dockyard.image.store import StoreSource
from dockyard.layers import tar_overlay_diff, write_layer
from dockyard.local import LocalStore
from dockyard.oci import Descriptor, ImageConfig, Manifest, mediatypes, parse_manifest_or_index
from dockyard.reference import Reference

__all__ = ["commit_container"]


def _config(base: dict[str, Any], record: ContainerRecord, diff_id: Digest) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(base))
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config = dict(data.get("config") or {})
    config["Env"] = list(record.env) or None
    config["Cmd"] = list(record.cmd) or None
    config["Entrypoint"] = list(record.entrypoint) or None
    config["WorkingDir"] = record.workdir
    config["User"] = record.user
    data["config"] = {k: v for k, v in config.items() if v is not None}
    data["created"] = created
    data["rootfs"] = {
        "type": "layers",
        "diff_ids": [*data.get("rootfs", {}).get("diff_ids", []), str(diff_id)],
    }
    data["history"] = [
        *data.get("history", []),
        {"created": created, "created_by": record.command, "comment": f"commit {record.name}"},
    ]
    return data


def commit_container(store: LocalStore, container: str, target: str | None) -> Digest:
    """Make an image of ``container``'s image plus its changes; tag it ``target`` if given.
    Returns the new image's ID (its config digest)."""
    ref = Reference.parse_with_default_tag(target) if target else None
    if ref is not None and ref.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    containers = container_store(store)
    record = containers.find(container)
    if record.is_running():
        raise Conflict(
            f"container {record.name} is running: dockyard commits stopped containers only; "
            "wait for it to exit"
        )
    directory = containers.directory(record.id)
    raw = store.content.read_bytes(Digest.parse(record.manifest))
    base = open_any(StoreSource(store), parse_manifest_or_index(raw).descriptor())
    if not isinstance(base, BlobImage):
        raise InvalidArgument(f"the image of container {record.name} is not an image manifest")
    snapshot = SnapshotManager(store.root / BUILD_DIR).from_layers(base.layers())
    lowers = [directory / "init", *snapshot.lowers]
    upper = directory / "upper"
    with store.lease(description=f"commit {record.name}") as lease:
        layer = write_layer(lambda out: tar_overlay_diff(upper, lowers, out), store.content)
        lease.add(layer.digest)
        config = ImageConfig.build(_config(base.config().data, record, layer.diff_id))
        lease.put_bytes(config.raw, expected=config.digest)
        manifest = base.manifest()
        media_type = (
            mediatypes.OCI_LAYER_GZIP
            if manifest.media_type == mediatypes.OCI_MANIFEST
            else mediatypes.DOCKER_LAYER_GZIP
        )
        new = Manifest.build(
            Descriptor(manifest.config.media_type, config.digest, len(config.raw)),
            [*manifest.layers, Descriptor(media_type, layer.digest, layer.size)],
            media_type=manifest.media_type,
        )
        lease.put_bytes(new.raw, expected=new.digest)
        store.record_image(new.digest, config.digest, config.data.get("created"))
        if ref is not None:
            store.set_tag(ref, new.descriptor())
    return config.digest
