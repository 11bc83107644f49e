"""The registry client's repositories as a signing :class:`Repository`."""

from __future__ import annotations

import io
import json

from dockyard.client import RemoteRepository, pull_scope, push_scope
from dockyard.digest import Digest, digest_of
from dockyard.errors import ManifestUnknown
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt
from dockyard.reference import Reference
from dockyard.sign._payload import docker_reference

__all__ = ["ClientRepository"]


class ClientRepository:
    """Signing's view of one registry repository (auth, TLS and retries come from the client).

    The client's manifest calls cover most of it; the two things signing needs beyond them,
    the ``OCI-Subject`` answer to a manifest PUT and the referrers API, go through the same
    transport."""

    def __init__(self, remote: RemoteRepository, ref: Reference) -> None:
        self.remote = remote
        self._name = docker_reference(ref)

    @property
    def name(self) -> str:
        return self._name

    def resolve(self, reference: str) -> Descriptor:
        found = self.remote.head_manifest(reference)
        if found is None:
            raise ManifestUnknown(f"manifest unknown: {self.remote.name} has no {reference}")
        return found

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        desc, raw = self.remote.get_manifest(reference)
        return raw, desc.media_type

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        reference = tag or str(digest_of(raw))
        resp = self.remote.transport.request(
            self.remote.where,
            "PUT",
            f"/v2/{self.remote.path}/manifests/{reference}",
            scopes=[push_scope(self.remote.path)],
            what=f"push manifest {self.remote.name}:{reference}",
            headers={"Content-Type": media_type},
            body=raw,
            ok=(200, 201, 202),
        )
        return resp.headers.get("OCI-Subject") is not None

    def get_blob(self, descriptor: Descriptor) -> bytes:
        return self.remote.read_blob(descriptor)

    def put_blob(self, data: bytes) -> Digest:
        desc = Descriptor.of(data, "application/octet-stream")
        if not self.remote.blob_exists(desc.digest, push=True):
            self.remote.upload_blob(desc, lambda: io.BytesIO(data))
        return desc.digest

    def tags(self) -> list[str]:
        return sorted(self.remote.tags())

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        resp = self.remote.transport.request(
            self.remote.where,
            "GET",
            f"/v2/{self.remote.path}/referrers/{digest}",
            scopes=[pull_scope(self.remote.path)],
            what=f"list referrers of {self.remote.name}@{digest}",
            headers={"Accept": mt.OCI_INDEX},
            ok=(200, 404),
        )
        content_type = mt.base(resp.headers.get("Content-Type") or "")
        if resp.status == 404 or content_type != mt.OCI_INDEX:
            return None  # no referrers API: the sha256-<hex> tag schema is used instead
        try:
            return list(Index.parse(resp.data, mt.OCI_INDEX).manifests)
        except (ValueError, json.JSONDecodeError):
            return None
