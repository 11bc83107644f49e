"""What signing needs from wherever images live: a small protocol, and an OCI layout directory.

A registry (through the registry client) and an OCI image layout both speak
:class:`Repository`; signing and verification never know which one they talk to.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from dockyard.atomicfile import write_atomic
from dockyard.digest import Digest, digest_of
from dockyard.errors import BlobUnknown, FailedPrecondition, ManifestUnknown
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt
from dockyard.oci.manifest import parse_manifest_or_index

__all__ = ["LayoutRepository", "Repository"]

REF_NAME = "org.opencontainers.image.ref.name"


class Repository(Protocol):
    """One repository of one registry (or one OCI layout)."""

    @property
    def name(self) -> str:
        """The repository as signatures name it, e.g. ``127.0.0.1:5000/app``."""
        ...

    def resolve(self, reference: str) -> Descriptor:
        """The manifest a tag or digest names (ManifestUnknown when none)."""
        ...

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        """Raw bytes and media type of the manifest a tag or digest names."""
        ...

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        """Store a manifest (under ``tag``, or by digest). True when the repository indexed its
        subject itself (the OCI-Subject answer); False means the caller keeps the fallback tag."""
        ...

    def get_blob(self, descriptor: Descriptor) -> bytes:
        """The blob's bytes, verified against the descriptor."""
        ...

    def put_blob(self, data: bytes) -> Digest: ...

    def tags(self) -> list[str]: ...

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        """Manifests whose subject is ``digest`` via the referrers API; None when the
        repository has no referrers API (then the ``sha256-<hex>`` tag schema is used)."""
        ...


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, data: bytes) -> None:
    write_atomic(path, data)


class LayoutRepository:
    """An OCI image layout directory: tags are ``org.opencontainers.image.ref.name`` entries
    of ``index.json`` (what ``skopeo copy oci:DIR:TAG`` reads); untagged manifests are kept as
    unnamed entries. Referrers are found by scanning the index for subjects."""

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.root = Path(root)
        if not (self.root / "oci-layout").is_file():
            raise FailedPrecondition(
                f"{self.root} is not an OCI image layout (no oci-layout file)",
                hint="create one with `skopeo copy … oci:DIR:TAG`",
            )
        self._name = name or f"localhost/{self.root.resolve().name.lower()}"

    @property
    def name(self) -> str:
        return self._name

    def _blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / digest.algorithm / digest.hex

    def _index(self) -> Index:
        raw = (self.root / "index.json").read_bytes()
        index = parse_manifest_or_index(raw, mt.OCI_INDEX)
        assert isinstance(index, Index)
        return index

    def resolve(self, reference: str) -> Descriptor:
        if Digest.is_valid(reference):
            digest = Digest.parse(reference)
            for d in self._index().manifests:
                if d.digest == digest:
                    return Descriptor(d.media_type, d.digest, d.size)
            path = self._blob_path(digest)
            if path.is_file():
                raw = path.read_bytes()
                kind = json.loads(raw).get("mediaType") or mt.OCI_MANIFEST
                return Descriptor(kind, digest, len(raw))
        else:
            for d in self._index().manifests:
                if (d.annotations or {}).get(REF_NAME) == reference:
                    return Descriptor(d.media_type, d.digest, d.size)
        raise ManifestUnknown(f"manifest unknown: {reference} in {self.root}")

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        desc = self.resolve(reference)
        return self.get_blob(desc), desc.media_type

    def get_blob(self, descriptor: Descriptor) -> bytes:
        digest = descriptor.digest
        try:
            data = self._blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise BlobUnknown(f"blob unknown: {digest} in {self.root}") from None
        digest.verify(data)
        return data

    def put_blob(self, data: bytes) -> Digest:
        digest = digest_of(data)
        path = self._blob_path(digest)
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
        return digest

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        digest = self.put_blob(raw)
        with _locked(self.root / ".index.lock"):
            entries = [
                d
                for d in self._index().manifests
                if not (
                    (tag is not None and (d.annotations or {}).get(REF_NAME) == tag)
                    or (d.digest == digest and not (d.annotations or {}).get(REF_NAME))
                )
            ]
            annotations = {REF_NAME: tag} if tag is not None else None
            entries.append(Descriptor(media_type, digest, len(raw), annotations=annotations))
            _write_atomic(self.root / "index.json", Index.build(entries).raw)
        return True

    def tags(self) -> list[str]:
        names = ((d.annotations or {}).get(REF_NAME) for d in self._index().manifests)
        return sorted({n for n in names if n})

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        found: dict[Digest, Descriptor] = {}
        for d in self._index().manifests:
            if not mt.is_manifest(d.media_type) or d.digest in found:
                continue
            try:
                obj = json.loads(self.get_blob(d))
            except (ValueError, BlobUnknown):
                continue
            subject = obj.get("subject") if isinstance(obj, dict) else None
            if isinstance(subject, dict) and subject.get("digest") == str(digest):
                config = obj.get("config") or {}
                found[d.digest] = Descriptor(
                    d.media_type,
                    d.digest,
                    d.size,
                    annotations=obj.get("annotations"),
                    artifact_type=obj.get("artifactType") or config.get("mediaType"),
                )
        return list(found.values())
