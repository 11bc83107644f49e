"""Pull-based replication: copying one artifact of an endpoint registry into this one.

The mirror image of :mod:`._copy`: blobs first (one this registry holds already, in any
repository, is linked; another is streamed from the remote into an upload session and
verified against its digest), then the manifest (an index after its children) through the
registry's guard chain (quotas, immutable tags, and the push triggers of other policies),
then cosign's ``sha256-<hex>.sig``/``.att``/``.sbom`` tags of the subject."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import urlencode

from dockyard.client import RemoteRepository, Transport
from dockyard.digest import Digest
from dockyard.errors import DockyardError, ManifestUnknown, NotFound
from dockyard.oci import Descriptor
from dockyard.registry._registry import Registry
from dockyard.registry.replication._copy import ACCESSORIES, CopyStats, SourceGone
from dockyard.registry.replication._policies import (
    ArtifactFacts,
    Policy,
    accessory_tag,
    artifact_facts,
)
from dockyard.registry.replication._queue import NewTask
from dockyard.registry.storage import blob_key

__all__ = ["PullCopy", "remote_tasks"]

_READ = 1 << 20
#: Repositories asked for per catalog page.
CATALOG_PAGE = 1000


def remote_tasks(transport: Transport, url: str, policy: Policy) -> list[NewTask]:
    """Every tagged artifact of the remote registry ``policy`` selects (its catalog, then each
    selected repository's tags; cosign's accessory tags travel with their subjects)."""
    out = []
    for repository in _catalog(transport, url):
        if not policy.selects_repository(repository):
            continue
        target = policy.destination(repository)
        for tag in RemoteRepository(transport, url, repository).tags():
            if not accessory_tag(tag) and policy.selects_tag(tag):
                out.append(NewTask(repository, tag, target, tag))
    return out


def _catalog(transport: Transport, url: str) -> list[str]:
    names: list[str] = []
    path = "/v2/_catalog?" + urlencode({"n": CATALOG_PAGE})
    while path:
        resp = transport.request(
            url, "GET", path, scopes=["registry:catalog:*"], what=f"list repositories of {url}"
        )
        doc = json.loads(resp.data)
        names += [str(n) for n in doc.get("repositories") or []]
        link = resp.headers.get("Link") or ""
        path = link.split(";")[0].strip().strip("<>") if 'rel="next"' in link else ""
    return names


#: The largest remote config read for its labels.
MAX_CONFIG = 1 << 20


def _config(remote: RemoteRepository, raw: bytes, digest: str) -> bytes | None:
    """The bytes of the image config ``digest`` that the manifest ``raw`` names (None:
    missing, unreadable or too large), verified against its digest and size."""
    try:
        size = int(json.loads(raw)["config"]["size"])
        if size > MAX_CONFIG:
            return None
        descriptor = Descriptor(media_type="application/octet-stream",
                                digest=Digest.parse(digest), size=size)  # fmt: skip
        return remote.read_blob(descriptor)
    except (DockyardError, OSError, ValueError, KeyError, TypeError):
        return None


class PullCopy:
    """One copy of a task's artifact from the registry at ``url`` into ``registry``;
    ``select`` is the verdict of a policy's label and resource filters on its facts (read from
    the remote manifest and image config)."""

    def __init__(
        self,
        registry: Registry,
        transport: Transport,
        url: str,
        *,
        override: bool = True,
        check: Callable[[], None] = lambda: None,
        select: Callable[[ArtifactFacts], bool] | None = None,
    ) -> None:
        self.registry = registry
        self.select = select
        self.transport = transport
        self.url = url
        self.override = override
        self.check = check
        self.stats = CopyStats()

    def _log(self, line: str) -> None:
        self.stats.lines.append(line)

    def run(self, task: NewTask) -> CopyStats:
        remote = RemoteRepository(self.transport, self.url, task.src_repository)
        try:
            descriptor, raw = remote.get_manifest(task.src_reference)
        except NotFound:
            raise SourceGone(
                f"{task.src_repository}:{task.src_reference} is no longer in {self.url}"
            ) from None
        digest = str(descriptor.digest)
        if (self.select is not None and not accessory_tag(task.src_reference)
                and not self.select(artifact_facts(raw, partial(_config, remote, raw)))):  # fmt: skip
            self._log(f"{remote.name}:{task.src_reference} is not selected by the policy's "
                      "label or resource filters: not copied")  # fmt: skip
            return self.stats
        dst = task.dst_repository
        shown = f"{dst}:{task.dst_tag}" if task.dst_tag else f"{dst}@{digest}"
        if task.dst_tag and not self.override:
            here = self.registry.meta.tag_digest(dst, task.dst_tag)
            if here is not None and here != digest:
                self._log(f"{shown} exists here as {here}; override is off: left alone")
                return self.stats
        self._manifest(remote, dst, digest, raw, descriptor.media_type, task.dst_tag)
        self._log(f"copied {remote.name}:{task.src_reference} ({digest}) to {shown}")
        hex_ = digest.partition(":")[2]
        for suffix in ACCESSORIES:
            tag = f"sha256-{hex_}.{suffix}"
            found = remote.head_manifest(tag)
            if found is None:
                continue
            _, body = remote.get_manifest(tag)
            self._manifest(remote, dst, str(found.digest), body, found.media_type, tag)
            self._log(f"copied accessory {tag} ({found.digest})")
        return self.stats

    def _manifest(
        self, remote: RemoteRepository, dst: str, digest: str, raw: bytes, media_type: str,
        tag: str = "",
    ) -> None:  # fmt: skip
        if self.registry.meta.manifest_by_digest(dst, digest) is not None:
            self.stats.manifests_present += 1
            if not tag or self.registry.meta.tag_digest(dst, tag) == digest:
                return
        else:
            doc = json.loads(raw)
            if "manifests" in doc:  # an index: its children first
                for child in doc.get("manifests") or []:
                    child_digest = str(child["digest"])
                    try:
                        desc, body = remote.get_manifest(child_digest)
                    except ManifestUnknown:
                        self._log(f"child {child_digest} of an index is not at the source")
                        continue
                    self._manifest(remote, dst, child_digest, body, desc.media_type)
            else:
                blobs = [doc["config"]] if isinstance(doc.get("config"), dict) else []
                for blob in blobs + list(doc.get("layers") or []):
                    self._blob(remote, dst, blob)
            self.stats.manifests_copied += 1
        self.check()
        self._put(dst, tag or digest, raw, media_type, (tag,) if tag else ())

    def _put(
        self, dst: str, reference: str, raw: bytes, media_type: str, tags: tuple[str, ...]
    ) -> None:
        guard = self.registry.guard
        ticket = guard.check_manifest(dst, tags, raw, media_type) if guard else None
        self.registry.put_manifest(dst, reference, raw, media_type)
        if guard is not None:
            guard.pushed_manifest(dst, ticket)

    def _blob(self, remote: RemoteRepository, dst: str, blob: dict[str, Any]) -> None:
        digest = Digest.parse(str(blob["digest"]))
        meta = self.registry.meta
        if meta.blob_size(dst, str(digest)) is not None:
            self.stats.blobs_present += 1
            return
        stored = meta.stored_blob_size(str(digest))
        found = self.registry.storage.stat(blob_key(digest)) if stored is not None else None
        if stored is not None and found is not None and found.size == stored:
            meta.add_blob(dst, str(digest), stored)  # another repository here holds it
            self.stats.blobs_present += 1
            return
        self.check()
        size = int(blob["size"])
        descriptor = Descriptor(
            media_type=str(blob.get("mediaType") or "application/octet-stream"),
            digest=digest,
            size=size,
        )
        guard = self.registry.guard
        if guard is not None:
            guard.check_blob(dst, str(digest), size)
        uploads = self.registry.uploads
        upload_id = uploads.start(dst)
        try:
            writer = uploads.open(dst, upload_id, 0)
            try:
                with remote.open_blob(descriptor) as stream:
                    while chunk := stream.read(_READ):
                        writer.write(chunk)
                writer.done()
            except BaseException:
                writer.abort()
                raise
            uploads.finish(dst, upload_id, digest, size)
        except (DockyardError, OSError):
            uploads.cancel(upload_id)
            raise
        self.stats.blobs_copied += 1
        self.stats.bytes_copied += size
