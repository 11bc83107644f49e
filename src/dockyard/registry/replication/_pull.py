"""Pull-based replication: copying one artifact of an endpoint registry into this one.

The mirror image of :mod:`._copy`: blobs first (one this registry holds already, in any
repository, is linked; another is streamed from the remote into an upload session and
verified against its digest), then the manifest (an index after its children) through the
registry's guard chain (quotas, immutable tags, and the push triggers of other policies),
then what travels with the subject: cosign's ``sha256-<hex>.sig``/``.att``/``.sbom`` tags and
its OCI referrers (signatures, SBOMs, attestations naming it as ``subject``, and theirs), read
from the remote's referrers API or, where it has none (distribution 2.8), from the referrers
tag ``sha256-<hex>`` that clients keep there.

What a policy selects at the remote: its catalog and each selected repository's tags; its
untagged artifacts only where the remote can list them (an endpoint of type ``harbor`` — a
dockyard or Harbor registry — through Harbor's artifacts API; the distribution API has no way
to list a manifest no tag names)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from dockyard.client import RemoteRepository, Transport
from dockyard.digest import Digest
from dockyard.errors import DockyardError, ManifestUnknown, NotFound
from dockyard.oci import Descriptor, mediatypes
from dockyard.registry._registry import Registry
from dockyard.registry.replication._copy import (
    ACCESSORIES,
    MAX_DEPTH,
    CopyStats,
    SourceGone,
    _Throttled,
)
from dockyard.registry.replication._policies import (
    ArtifactFacts,
    Policy,
    accessory_tag,
    artifact_facts,
)
from dockyard.registry.replication._queue import NewTask
from dockyard.registry.storage import blob_key

__all__ = ["PullCopy", "referrers_tag", "remote_tasks"]

log = logging.getLogger("dockyard.registry.replication")

_READ = 1 << 20
#: Repositories asked for per catalog page.
CATALOG_PAGE = 1000
#: Artifacts asked for per page of Harbor's artifacts API (its largest page).
ARTIFACT_PAGE = 100
#: Most untagged artifacts listed per repository.
MAX_UNTAGGED = 10_000
#: Most referrers of one subject copied.
MAX_REFERRERS = 1000
_REFERRERS_TAG = re.compile(r"sha256-[0-9a-f]{64}")


def referrers_tag(tag: str) -> bool:
    """Is ``tag`` the referrers tag schema's ``sha256-<hex>`` (an index of a subject's
    referrers, kept by clients where there is no referrers API)?"""
    return _REFERRERS_TAG.fullmatch(tag) is not None


def remote_tasks(
    transport: Transport, url: str, policy: Policy, *, lists_untagged: bool = False
) -> list[NewTask]:
    """Every artifact of the remote registry ``policy`` selects (its catalog, then each
    selected repository's tags; cosign's accessory tags and referrers tags travel with their
    subjects). Untagged artifacts, when the tag filters take them, only where the remote
    ``lists_untagged`` (Harbor's artifacts API): they are copied by digest."""
    out = []
    untagged = policy.selects_untagged
    if untagged and not lists_untagged:
        log.info("replication policy %r selects untagged artifacts, but %s speaks only the "
                 "distribution API, which cannot list them: tagged artifacts only", policy.name,
                 url)  # fmt: skip
    for repository in _catalog(transport, url):
        if not policy.selects_repository(repository):
            continue
        target = policy.destination(repository)
        for tag in RemoteRepository(transport, url, repository).tags():
            if referrers_tag(tag) or accessory_tag(tag) or not policy.selects_tag(tag):
                continue
            out.append(NewTask(repository, tag, target, tag))
        if untagged and lists_untagged:
            out += [NewTask(repository, digest, target, "")
                    for digest in _untagged(transport, url, repository)]  # fmt: skip
    return out


def _untagged(transport: Transport, url: str, repository: str) -> list[str]:
    """The digests of ``repository``'s top-level untagged artifacts at a Harbor-API registry
    (``q=tags=nil``; neither an index's children nor accessories are listed)."""
    project, _, name = repository.partition("/")
    if not name:
        return []  # Harbor's API names a repository inside a project
    path = (f"/api/v2.0/projects/{quote(project, safe='')}/repositories/"
            f"{quote(quote(name, safe=''), safe='')}/artifacts")  # fmt: skip
    out: list[str] = []
    page = 1
    while len(out) < MAX_UNTAGGED:
        query = urlencode({"q": "tags=nil", "page": page, "page_size": ARTIFACT_PAGE,
                           "with_tag": "false"})  # fmt: skip
        resp = transport.request(
            url, "GET", f"{path}?{query}", what=f"list untagged artifacts of {repository} at {url}",
            headers={"Accept": "application/json"}, ok=(200, 404),
        )  # fmt: skip
        if resp.status == 404:
            return out  # no such repository (any more)
        try:
            rows = json.loads(resp.data)
            found = [str(Digest.parse(str(r["digest"]))) for r in rows]
        except (ValueError, KeyError, TypeError) as exc:
            raise DockyardError(
                f"{url} answered its artifacts API for {repository} with no artifact list ({exc})"
            ) from None
        out += found
        if len(rows) < ARTIFACT_PAGE:
            return out
        page += 1
    log.warning("%s at %s has more than %d untagged artifacts: the first %d are replicated",
                repository, url, MAX_UNTAGGED, MAX_UNTAGGED)  # fmt: skip
    return out[:MAX_UNTAGGED]


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


def _subject(raw: bytes) -> str | None:
    try:
        subject = json.loads(raw).get("subject")
    except (ValueError, AttributeError):
        return None
    return str(subject["digest"]) if isinstance(subject, dict) and "digest" in subject else None


def _attached_labels(transport: Transport, url: str, repository: str, digest: str
                     ) -> frozenset[str]:  # fmt: skip
    """The names of the Harbor labels attached to ``digest`` of ``repository`` at a Harbor-API
    registry (``with_label=true``); none when the API does not know the artifact."""
    project, _, name = repository.partition("/")
    if not name:
        return frozenset()
    path = (f"/api/v2.0/projects/{quote(project, safe='')}/repositories/"
            f"{quote(quote(name, safe=''), safe='')}/artifacts/{quote(digest, safe='')}")  # fmt: skip
    query = urlencode({"with_label": "true", "with_tag": "false", "with_accessory": "false"})
    resp = transport.request(
        url, "GET", f"{path}?{query}", what=f"read the labels of {repository}@{digest} at {url}",
        headers={"Accept": "application/json"}, ok=(200, 404),
    )  # fmt: skip
    if resp.status == 404:
        return frozenset()
    try:
        found = json.loads(resp.data).get("labels") or []
        return frozenset(str(label["name"]) for label in found)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DockyardError(
            f"{url} answered its artifacts API for {repository}@{digest} with no artifact ({exc})"
        ) from None


class PullCopy:
    """One copy of a task's artifact from the registry at ``url`` into ``registry``;
    ``select`` is the verdict of a policy's label and resource filters on its facts (read from
    the remote manifest and image config, and with ``harbor_labels`` the names of the labels
    attached to it there, read through Harbor's artifacts API); ``speed`` is KB/s per copy
    (0 or less: unlimited), as for a push."""

    def __init__(
        self,
        registry: Registry,
        transport: Transport,
        url: str,
        *,
        override: bool = True,
        speed: int = -1,
        check: Callable[[], None] = lambda: None,
        select: Callable[[ArtifactFacts], bool] | None = None,
        harbor_labels: bool = False,
    ) -> None:
        self.registry = registry
        self.select = select
        self.harbor_labels = harbor_labels
        self.rate = speed * 1024.0 if speed > 0 else 0.0
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
                and not self.select(self._facts(remote, task.src_repository, raw, digest))):  # fmt: skip
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
        self._accessories(remote, dst, digest, 0)
        return self.stats

    def _facts(
        self, remote: RemoteRepository, repository: str, raw: bytes, digest: str
    ) -> ArtifactFacts:
        """What the label and resource filters see of the remote artifact: what it carries and,
        at a Harbor-API source, the names of the labels attached to it there."""
        facts = artifact_facts(raw, partial(_config, remote, raw))
        if not self.harbor_labels:
            return facts
        attached = _attached_labels(self.transport, self.url, repository, digest)
        return replace(facts, labels=facts.labels | attached) if attached else facts

    # --- what travels with a subject ----------------------------------------------------------

    def _accessories(self, remote: RemoteRepository, dst: str, digest: str, depth: int) -> None:
        """cosign's tags of ``digest`` and its referrers (and theirs, ``MAX_DEPTH`` deep)."""
        if depth >= MAX_DEPTH:
            return
        hex_ = digest.partition(":")[2]
        for suffix in ACCESSORIES:
            tag = f"sha256-{hex_}.{suffix}"
            found = remote.head_manifest(tag)
            if found is None:
                continue
            got, body = remote.get_manifest(tag)
            self._manifest(remote, dst, str(got.digest), body, got.media_type, tag)
            self._log(f"copied accessory {tag} ({got.digest})")
        for referrer in self._referrers(remote, digest):
            try:
                got, body = remote.get_manifest(referrer)
            except ManifestUnknown:
                self._log(f"referrer {referrer} of {digest} is listed but not at the source")
                continue
            if _subject(body) != digest:
                self._log(f"{referrer} is listed as a referrer of {digest} but does not name "
                          "it as its subject: not copied")  # fmt: skip
                continue
            self._manifest(remote, dst, referrer, body, got.media_type)
            self._log(f"copied referrer {referrer} of {digest}")
            self._accessories(remote, dst, referrer, depth + 1)

    def _referrers(self, remote: RemoteRepository, digest: str) -> list[str]:
        """The digests of ``digest``'s referrers at the source: its referrers API's answer,
        or (a registry without one answers 404) the index at the referrers tag."""
        resp = self.transport.request(
            self.url, "GET", f"/v2/{remote.path}/referrers/{digest}",
            scopes=[f"repository:{remote.path}:pull"],
            what=f"list referrers of {remote.name}@{digest}",
            headers={"Accept": mediatypes.OCI_INDEX}, ok=(200, 404),
        )  # fmt: skip
        content_type = mediatypes.base(resp.headers.get("Content-Type") or "")
        raw: bytes | None = resp.data
        if resp.status == 404 or content_type != mediatypes.OCI_INDEX:
            tag = "sha256-" + digest.partition(":")[2]
            try:
                _, raw = remote.get_manifest(tag)
            except NotFound:
                raw = None
        if raw is None:
            return []
        try:
            entries = json.loads(raw).get("manifests") or []
            found = [str(Digest.parse(str(e["digest"]))) for e in entries]
        except (ValueError, KeyError, TypeError, AttributeError):
            self._log(f"the referrers of {digest} at the source are no OCI index: not copied")
            return []
        return list(dict.fromkeys(found))[:MAX_REFERRERS]

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
                stream = remote.open_blob(descriptor)
                with _Throttled(stream, self.rate, self.check) if self.rate else stream as source:
                    while chunk := source.read(_READ):
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
