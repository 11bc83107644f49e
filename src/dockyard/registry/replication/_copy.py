"""Copying one artifact of this registry to a destination registry, with what travels with it.

The order makes a copy safe to stop and repeat at any point: blobs first (each asked for with
HEAD; what the destination lacks is mounted from another of its repositories known to hold it,
else uploaded), then the manifest (an index after its
children), then the tag; then the subject's accessories: cosign's ``sha256-<hex>.sig``,
``.att`` and ``.sbom`` tags, and its OCI referrers (on a destination without the referrers
API, also the fallback tag ``sha256-<hex>`` that lists them, as the distribution spec asks
of clients). A repeated copy finds everything present and uploads nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dockyard.client import ClientOptions, Credentials, RemoteRepository, Transport
from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, DockyardError, ManifestUnknown, NotFound, Unavailable
from dockyard.oci import Descriptor, mediatypes
from dockyard.registry._registry import Registry
from dockyard.registry.replication._policies import accessory_tag
from dockyard.registry.replication._queue import NewTask
from dockyard.registry.replication._registries import RemoteRegistry

__all__ = ["ArtifactCopy", "CopyStats", "SourceGone", "destination_transport", "ping"]

#: cosign's accessory tag suffixes
ACCESSORIES = ("sig", "att", "sbom")
#: How deep referrers of referrers are followed.
MAX_DEPTH = 3
_PIECE = 64 << 10


class SourceGone(NotFound):
    """The artifact to copy is no longer in this registry (deleted after it was queued)."""


def _put_manifest(dest: RemoteRepository, reference: str, content: bytes, media_type: str) -> None:
    """Put a manifest of this registry's (its bytes verified here) at the destination. A
    destination that calls it DIGEST_INVALID was caught mid-write: distribution 2.8 rewrites a
    repository's blob links in place, and another upload of the same blobs into the same
    repository at that moment (another process's copy) makes a link read as invalid. That gets
    better by waiting: retried, as an unavailable destination is."""
    try:
        dest.put_manifest(reference, content, media_type)
    except DigestInvalid as exc:
        raise Unavailable(
            f"{exc}; the manifest's bytes match their digest here, so the destination was "
            "caught writing the same blobs for another copy: tried again"
        ) from exc


def destination_transport(endpoint: RemoteRegistry) -> Transport:
    """A client for ``endpoint``: its credential, TLS verified unless it is insecure, few
    retries of its own (the queue retries a failed copy later)."""
    transport = Transport(
        ClientOptions(
            tls_verify=not endpoint.insecure,
            retries=2,
            user_agent="dockyard-replication",
        )
    )
    credentials = (
        Credentials(endpoint.access_key, endpoint.access_secret) if endpoint.access_key else None
    )
    transport.set_credentials(endpoint.host, credentials)
    return transport


def ping(endpoint: RemoteRegistry) -> None:
    """Reach ``endpoint``'s ``/v2/`` with its credential; the client's error if it cannot."""
    transport = destination_transport(endpoint)
    transport.request(endpoint.url, "GET", "/v2/", what=f"ping registry {endpoint.url}")


class _Throttled:
    """A blob stream read at most ``rate`` bytes a second (``check`` between pieces)."""

    def __init__(self, stream: BinaryIO, rate: float, check: Callable[[], None]) -> None:
        self.stream = stream
        self.rate = rate
        self.check = check
        self.started = time.monotonic()
        self.sent = 0

    def read(self, n: int = -1) -> bytes:
        out = bytearray()
        while n < 0 or len(out) < n:
            want = _PIECE if n < 0 else min(_PIECE, n - len(out))
            piece = self.stream.read(want)
            if not piece:
                break
            out += piece
            self.sent += len(piece)
            ahead = self.sent / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                self.check()
                time.sleep(ahead)
        return bytes(out)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> _Throttled:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(slots=True)
class CopyStats:
    blobs_copied: int = 0
    blobs_present: int = 0
    blobs_mounted: int = 0
    bytes_copied: int = 0
    manifests_copied: int = 0
    manifests_present: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.manifests_copied} manifest(s) and {self.blobs_copied} blob(s) "
            f"({self.bytes_copied} bytes) copied, {self.blobs_mounted} blob(s) mounted; "
            f"{self.manifests_present} manifest(s) and {self.blobs_present} blob(s) were "
            "there already"
        )


class ArtifactCopy:
    """One copy of a task's artifact from ``registry`` to ``transport``'s registry at
    ``url``. ``check`` is called between transfers (it raises to stop a copy, and renews the
    task's lease); ``speed`` is KB/s per copy (0 or less: unlimited); ``mounts`` remembers,
    for this destination, a repository known to hold each blob (a blob another repository
    lacks is mounted from there rather than uploaded again); ``select`` (repository, manifest
    bytes) is asked of a policy with label or resource filters, whose verdict may have
    changed since the task was queued; ``prepare`` readies the destination for the task
    before anything is copied (its project made there: :mod:`._prepare`), answering why the
    copy is skipped, or None."""

    def __init__(
        self,
        registry: Registry,
        transport: Transport,
        url: str,
        *,
        override: bool = True,
        speed: int = -1,
        check: Callable[[], None] = lambda: None,
        mounts: MutableMapping[str, str] | None = None,
        select: Callable[[str, bytes], bool] | None = None,
        prepare: Callable[[NewTask], str | None] | None = None,
    ) -> None:
        self.registry = registry
        self.select = select
        self.prepare = prepare
        self.transport = transport
        self.url = url
        self.override = override
        self.rate = speed * 1024.0 if speed > 0 else 0.0
        self.check = check
        self.mounts: MutableMapping[str, str] = {} if mounts is None else mounts
        self.stats = CopyStats()

    def _log(self, line: str) -> None:
        self.stats.lines.append(line)

    def run(self, task: NewTask) -> CopyStats:
        src, dst_name = task.src_repository, task.dst_repository
        try:
            record = self.registry.manifest(src, task.src_reference)
        except ManifestUnknown:
            raise SourceGone(
                f"{src}:{task.src_reference} is no longer in this registry; nothing to copy"
            ) from None
        if (self.select is not None and not accessory_tag(task.src_reference)
                and not self.select(src, record.content)):  # fmt: skip
            self._log(f"{src}:{task.src_reference} is not selected by the policy's label or "
                      "resource filters: not copied")  # fmt: skip
            return self.stats
        if self.prepare is not None:
            skipped = self.prepare(task)
            if skipped is not None:
                self._log(f"{src}:{task.src_reference} not copied: {skipped}")
                return self.stats
        dest = RemoteRepository(self.transport, self.url, dst_name)
        shown = f"{dst_name}:{task.dst_tag}" if task.dst_tag else f"{dst_name}@{record.digest}"
        if task.dst_tag and not self.override:
            there = dest.head_manifest(task.dst_tag)
            if there is not None and str(there.digest) != record.digest:
                self._log(
                    f"{shown} exists at the destination as {there.digest}; override is off: "
                    "left alone"
                )
                return self.stats
        self._manifest(src, dest, record.digest, record.content, record.media_type,
                       task.dst_tag)  # fmt: skip
        self._log(f"copied {src}:{task.src_reference} ({record.digest}) to {shown}")
        self._accessories(src, dest, record.digest, 0)
        return self.stats

    # --- manifests and blobs ----------------------------------------------------------------

    def _manifest(
        self, src: str, dest: RemoteRepository, digest: str, content: bytes, media_type: str,
        tag: str = "",
    ) -> None:  # fmt: skip
        there = dest.head_manifest(digest)
        if there is None:
            doc = json.loads(content)
            if "manifests" in doc:  # an index: its children first
                for child in doc.get("manifests") or []:
                    self._child(src, dest, str(child["digest"]))
            else:
                blobs = [doc["config"]] if isinstance(doc.get("config"), dict) else []
                for blob in blobs + list(doc.get("layers") or []):
                    self._blob(src, dest, blob)
            self.check()
            _put_manifest(dest, tag or digest, content, media_type)
            self.stats.manifests_copied += 1
            return
        self.stats.manifests_present += 1
        if tag:  # the manifest is there; the tag may not be (or may name another)
            current = dest.head_manifest(tag)
            if current is None or str(current.digest) != digest:
                _put_manifest(dest, tag, content, media_type)

    def _child(self, src: str, dest: RemoteRepository, digest: str) -> None:
        try:
            record = self.registry.manifest(src, digest)
        except ManifestUnknown:  # a sparse index: a platform this registry does not hold
            self._log(f"child {digest} of an index is not in {src}: not copied")
            return
        self._manifest(src, dest, record.digest, record.content, record.media_type)

    def _blob(self, src: str, dest: RemoteRepository, blob: dict[str, Any]) -> None:
        digest = Digest.parse(str(blob["digest"]))
        if dest.blob_exists(digest, push=True):
            self.stats.blobs_present += 1
            self.mounts[str(digest)] = dest.path
            return
        self.check()
        holder = self.mounts.get(str(digest))
        if holder is not None and holder != dest.path and dest.mount_blob(digest, holder):
            self.stats.blobs_mounted += 1
            self._log(f"mounted blob {digest} from {holder}")
            self.mounts[str(digest)] = dest.path
            return
        handle = self.registry.blob(src, digest)
        descriptor = Descriptor(
            media_type=str(blob.get("mediaType") or "application/octet-stream"),
            digest=digest,
            size=handle.size,
        )

        def open_stream() -> BinaryIO:
            stream = handle.open()
            if self.rate:
                return _Throttled(stream, self.rate, self.check)  # type: ignore[return-value]
            return stream

        dest.upload_blob(descriptor, open_stream)
        self.mounts[str(digest)] = dest.path
        self.stats.blobs_copied += 1
        self.stats.bytes_copied += handle.size

    # --- accessories --------------------------------------------------------------------------

    def _accessories(self, src: str, dest: RemoteRepository, digest: str, depth: int) -> None:
        """cosign's tags of ``digest`` and its referrers (and theirs, ``MAX_DEPTH`` deep)."""
        if depth >= MAX_DEPTH:
            return
        hex_ = digest.partition(":")[2]
        for suffix in ACCESSORIES:
            tag = f"sha256-{hex_}.{suffix}"
            try:
                record = self.registry.manifest(src, tag)
            except ManifestUnknown:
                continue
            self._manifest(src, dest, record.digest, record.content, record.media_type, tag)
            self._log(f"copied accessory {src}:{tag} ({record.digest})")
        referrers = self.registry.meta.referrers(src, digest)
        if not referrers:
            return
        for referrer in referrers:
            record = self.registry.manifest(src, referrer.digest)
            self._manifest(src, dest, record.digest, record.content, record.media_type)
            self._log(f"copied referrer {referrer.digest} of {digest}")
            self._accessories(src, dest, referrer.digest, depth + 1)
        if not self._has_referrers_api(dest, digest):
            self._fallback_tag(src, dest, digest)

    def _has_referrers_api(self, dest: RemoteRepository, digest: str) -> bool:
        resp = self.transport.request(
            self.url,
            "GET",
            f"/v2/{dest.path}/referrers/{digest}",
            scopes=[f"repository:{dest.path}:pull"],
            what=f"list referrers of {digest} in {dest.name}",
            headers={"Accept": mediatypes.OCI_INDEX},
            ok=(200, 404),
        )
        return resp.status == 200

    def _fallback_tag(self, src: str, dest: RemoteRepository, digest: str) -> None:
        """The referrers tag schema: the index at tag ``sha256-<hex>`` lists the referrers
        (what was there kept, this registry's added)."""
        tag = "sha256-" + digest.partition(":")[2]
        entries: list[dict[str, Any]] = []
        try:
            _, raw = dest.get_manifest(tag)
            entries = list(json.loads(raw).get("manifests") or [])
        except NotFound:
            pass
        except (DockyardError, ValueError, AttributeError):
            entries = []
        known = {str(e.get("digest")) for e in entries if isinstance(e, dict)}
        index = json.loads(self.registry.referrers(src, Digest.parse(digest), None))
        added = [e for e in index["manifests"] if e["digest"] not in known]
        if not added:
            return
        body = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX,
                "manifests": entries + added}  # fmt: skip
        raw = json.dumps(body, separators=(",", ":")).encode()
        dest.put_manifest(tag, raw, mediatypes.OCI_INDEX)
        self._log(f"updated the referrers tag {tag} ({len(added)} added)")
