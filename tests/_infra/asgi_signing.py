"""Signing's :class:`~dockyard.sign.Repository` over a registry's ``/v2/`` API through an
in-process client (so tests sign with the real ``dockyard.sign`` code, no server process)."""

from __future__ import annotations

from typing import Any

from _infra.registry_server import push_blob
from dockyard.digest import Digest, digest_of
from dockyard.errors import ManifestUnknown
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt

__all__ = ["ASGIRepository"]


class ASGIRepository:
    """Repository ``name`` of the app ``client`` talks to (an AuthedClient that may push)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        r = self.client.get(f"/v2/{self._name}/manifests/{reference}",
                            headers={"accept": f"{mt.OCI_MANIFEST}, {mt.OCI_INDEX}"})  # fmt: skip
        if r.status_code == 404:
            raise ManifestUnknown(f"no manifest {reference} in {self._name}")
        assert r.status_code == 200, r.text
        return r.content, r.headers["content-type"]

    def resolve(self, reference: str) -> Descriptor:
        raw, media_type = self.get_manifest(reference)
        return Descriptor(media_type, digest_of(raw), len(raw))

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        ref = tag or str(digest_of(raw))
        r = self.client.put(f"/v2/{self._name}/manifests/{ref}", content=raw,
                            headers={"content-type": media_type})  # fmt: skip
        assert r.status_code == 201, r.text
        return "oci-subject" in r.headers

    def get_blob(self, descriptor: Descriptor) -> bytes:
        r = self.client.get(f"/v2/{self._name}/blobs/{descriptor.digest}")
        assert r.status_code == 200, r.text
        data: bytes = r.content
        descriptor.digest.verify(data)
        return data

    def put_blob(self, data: bytes) -> Digest:
        return Digest.parse(push_blob(self.client, self._name, data))

    def tags(self) -> list[str]:
        r = self.client.get(f"/v2/{self._name}/tags/list")
        return list(r.json().get("tags") or []) if r.status_code == 200 else []

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        r = self.client.get(f"/v2/{self._name}/referrers/{digest}")
        assert r.status_code == 200, r.text
        return list(Index.parse(r.content, mt.OCI_INDEX).manifests)
