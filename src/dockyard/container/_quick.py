"""The image ``dockyard run`` starts when its root filesystem is already a snapshot (every run
of an image after its first), read with file reads and one read-only SQLite query.

The tag (normalised by :func:`dockyard.storefiles.names.tag_name`, without the reference grammar's
regular expressions), the tag's manifest and the image config are the store's files (the blobs
verified against their digests), the snapshot is the builder's, found by the layers' chain ID.
The store itself is not opened: no metadata schema check, no SQL write transaction, and none of
the image, content, layer, metadata or reference code loads. Anything out of the ordinary (no such tag, a digest reference,
an index, a missing snapshot, an unreadable or damaged file, a database that cannot be read)
answers None, and the run takes the full path over :class:`dockyard.local.LocalStore`
(:func:`dockyard.container.run_container`), which is always right and gives the errors.
"""

from __future__ import annotations

import json
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

from dockyard.builder.worker import BUILD_DIR, Snapshot, SnapshotManager, chain_id
from dockyard.storefiles import Error as DatabaseError
from dockyard.storefiles import blob_file, db_file, open_read_only, tag_targets
from dockyard.storefiles.names import tag_name

__all__ = ["SnapshotImage", "snapshot_image"]

#: the manifests a container can run directly (an index takes the full path: a platform choice)
_MANIFESTS = frozenset(
    {
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    }
)
_MAX_DOCUMENT = 4 << 20  # the OCI distribution spec's manifest size limit


class SnapshotImage(NamedTuple):
    """An image of the store whose root filesystem is the snapshot ``base``."""

    manifest_digest: str
    config_digest: str
    config: dict[str, Any]  #: the image config document
    base: Snapshot
    snapshots: SnapshotManager


def snapshot_image(root: Path, name: str) -> SnapshotImage | None:
    """The image the tag ``name`` names in the store at ``root`` when its snapshot exists,
    else None (see the module's documentation)."""
    tag = tag_name(name)  # no grammar check: only a valid name can be in the tags table
    if tag is None:
        return None
    try:
        conn = open_read_only(db_file(str(root)))
        try:
            target = tag_targets(conn, [tag]).get(tag)
        finally:
            conn.close()
    except DatabaseError:
        return None
    if target is None:
        return None
    manifest = _document(root, target)
    if manifest is None or manifest.get("mediaType") not in _MANIFESTS:
        return None
    try:
        config_digest = str(manifest["config"]["digest"])
        layers = list(manifest["layers"])
    except (KeyError, TypeError):
        return None
    config = _document(root, config_digest)
    if config is None:
        return None
    try:
        diff_ids = [str(d) for d in config["rootfs"]["diff_ids"]]
    except (KeyError, TypeError):
        return None
    if len(diff_ids) != len(layers):
        return None
    key = "scratch"
    for diff_id in diff_ids:
        key = chain_id(key, diff_id)
    snapshots = SnapshotManager(root / BUILD_DIR)
    base = snapshots.get(key)
    if base is None:
        return None
    return SnapshotImage(target, config_digest, config, base, snapshots)


def _document(root: Path, digest: str) -> dict[str, Any] | None:
    """The JSON object in blob ``digest`` (sha256 only), or None when it is missing, larger
    than a manifest may be, does not match its digest or is not a JSON object."""
    algorithm, _, encoded = digest.partition(":")
    if algorithm != "sha256":
        return None
    try:
        with open(blob_file(str(root), digest), "rb") as f:
            data = f.read(_MAX_DOCUMENT + 1)
    except OSError:
        return None
    if len(data) > _MAX_DOCUMENT or sha256(data).hexdigest() != encoded:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
