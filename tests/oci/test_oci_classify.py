"""The "what is this manifest" classifier, as a table: the content decides, never a name or
a ``subject``."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any

import pytest

from dockyard import sign
from dockyard.digest import Digest, digest_of
from dockyard.oci import Descriptor
from dockyard.oci import mediatypes as mt
from dockyard.oci.classify import (
    DSSE_ENVELOPE,
    INTOTO_STATEMENT,
    MAX_ATTACHMENT_SIZE,
    SIMPLESIGNING,
    Kind,
    classify,
)

COSIGN_SIG = "application/vnd.dev.cosign.artifact.sig.v1+json"
COSIGN_ATT = "application/vnd.dev.cosign.artifact.att.v1+json"
EMPTY = b"{}"


@dataclass
class Store:
    """Manifests and blobs by digest: the classifier's Content."""

    blobs: dict[Digest, bytes] = field(default_factory=dict)
    manifests: dict[Digest, tuple[bytes, str]] = field(default_factory=dict)
    asked: list[Digest] = field(default_factory=list)

    def manifest(self, digest: Digest) -> tuple[bytes, str] | None:
        return self.manifests.get(digest)

    def blob(self, descriptor: Descriptor) -> bytes | None:
        assert descriptor.size <= MAX_ATTACHMENT_SIZE
        self.asked.append(descriptor.digest)
        return self.blobs.get(descriptor.digest)

    def add(self, data: bytes, media_type: str) -> dict[str, Any]:
        self.blobs[digest_of(data)] = data
        return {"mediaType": media_type, "digest": str(digest_of(data)), "size": len(data)}

    def put(self, manifest: dict[str, Any]) -> dict[str, Any]:
        raw = json.dumps(manifest).encode()
        self.manifests[digest_of(raw)] = (raw, manifest["mediaType"])
        return {"mediaType": manifest["mediaType"], "digest": str(digest_of(raw)), "size": len(raw)}


def tar_gz(name: str = "bin/app", payload: bytes = b"\x7fELF\0\0\0") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return gzip.compress(buf.getvalue(), mtime=0)


PAYLOAD = json.dumps(
    {"critical": {"type": "cosign container image signature"}, "optional": None}
).encode()
ENVELOPE = json.dumps(
    {"payloadType": INTOTO_STATEMENT, "payload": "e30=", "signatures": []}
).encode()
STATEMENT = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []}).encode()
SPDX_TEXT = b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n"


def manifest(
    store: Store,
    config_type: str,
    layers: list[tuple[bytes | None, str]],
    *,
    media_type: str = mt.OCI_MANIFEST,
    size: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A manifest; a layer given as None bytes is listed but absent from ``store``."""
    descriptors = []
    for data, layer_type in layers:
        if data is None:
            descriptors.append({"mediaType": layer_type, "digest": "sha256:" + "1" * 64, "size": 9})
        else:
            descriptors.append(store.add(data, layer_type))
    if size is not None:
        descriptors[0]["size"] = size
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": store.add(EMPTY, config_type),
        "layers": descriptors,
        **fields,
    }


NOWHERE = {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "0" * 64, "size": 10}
IMAGE_LAYER = (tar_gz(), mt.OCI_LAYER_GZIP)

# (name, config media type, layers, extra manifest fields, kind with content, kind without)
MANIFESTS: list[tuple[str, str, list[tuple[bytes | None, str]], dict[str, Any], Kind, Kind]] = [
    ("image", mt.OCI_CONFIG, [IMAGE_LAYER], {}, Kind.IMAGE, Kind.IMAGE),
    ("image, no layers", mt.OCI_CONFIG, [], {}, Kind.IMAGE, Kind.IMAGE),
    (
        "image with a dangling subject",
        mt.OCI_CONFIG,
        [IMAGE_LAYER],
        {"subject": NOWHERE},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "image claiming to be a signature",
        mt.OCI_CONFIG,
        [IMAGE_LAYER],
        {"artifactType": COSIGN_SIG, "annotations": {"dev.cosignproject.cosign/signature": "x"}},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "cosign .sig image",
        mt.OCI_CONFIG,
        [(PAYLOAD, SIMPLESIGNING), (PAYLOAD + b" ", SIMPLESIGNING)],
        {},
        Kind.SIGNATURE,
        Kind.IMAGE,
    ),
    (
        "cosign .att image",
        mt.OCI_CONFIG,
        [(ENVELOPE, DSSE_ENVELOPE)],
        {},
        Kind.ATTESTATION,
        Kind.IMAGE,
    ),
    (
        "buildx attestation manifest",
        mt.OCI_CONFIG,
        [(STATEMENT, INTOTO_STATEMENT)],
        {},
        Kind.ATTESTATION,
        Kind.IMAGE,
    ),
    ("cosign .sbom image", mt.OCI_CONFIG, [(SPDX_TEXT, "text/spdx")], {}, Kind.SBOM, Kind.IMAGE),
    (
        "tar layer typed as a signature",
        mt.OCI_CONFIG,
        [(tar_gz(), SIMPLESIGNING)],
        {},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "uncompressed tar typed as an SBOM",
        mt.OCI_CONFIG,
        [(gzip.decompress(tar_gz()), "text/spdx")],
        {},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "text that is no JSON typed as a signature",
        mt.OCI_CONFIG,
        [(b"#!/bin/sh\necho hi\n", SIMPLESIGNING)],
        {},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "signature layer missing",
        mt.OCI_CONFIG,
        [(None, SIMPLESIGNING)],
        {},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "a filesystem layer beside a signature",
        mt.OCI_CONFIG,
        [(PAYLOAD, SIMPLESIGNING), IMAGE_LAYER],
        {},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "docker image",
        mt.DOCKER_CONFIG,
        [(tar_gz(), mt.DOCKER_LAYER_GZIP)],
        {"media_type": mt.DOCKER_MANIFEST},
        Kind.IMAGE,
        Kind.IMAGE,
    ),
    (
        "cosign referrer signature",
        COSIGN_SIG,
        [(PAYLOAD, SIMPLESIGNING)],
        {"subject": NOWHERE},
        Kind.SIGNATURE,
        Kind.SIGNATURE,
    ),
    (
        "cosign referrer attestation",
        COSIGN_ATT,
        [(ENVELOPE, DSSE_ENVELOPE)],
        {},
        Kind.ATTESTATION,
        Kind.ATTESTATION,
    ),
    (
        "OCI 1.1 SBOM artifact",
        mt.OCI_EMPTY_JSON,
        [(b"{}", "application/octet-stream")],
        {"artifactType": "application/spdx+json"},
        Kind.SBOM,
        Kind.SBOM,
    ),
    (
        "tar layers under an artifact config",
        "application/vnd.example.config+json",
        [IMAGE_LAYER],
        {},
        Kind.ARTIFACT,
        Kind.ARTIFACT,
    ),
]


@pytest.mark.parametrize(
    ("config_type", "layers", "fields", "with_content", "without"),
    [case[1:] for case in MANIFESTS],
    ids=[case[0] for case in MANIFESTS],
)
def test_manifests(
    config_type: str,
    layers: list[tuple[bytes | None, str]],
    fields: dict[str, Any],
    with_content: Kind,
    without: Kind,
) -> None:
    store = Store()
    fields = dict(fields)
    media_type = fields.pop("media_type", mt.OCI_MANIFEST)
    obj = manifest(store, config_type, layers, media_type=media_type, **fields)
    raw = json.dumps(obj).encode()
    found = classify(raw, media_type, store)
    assert found.kind is with_content, found.reason
    assert found.runnable is (with_content in (Kind.IMAGE, Kind.IMAGE_INDEX))
    assert classify(raw, media_type).kind is without


def test_oversized_attachment_layers_are_not_read() -> None:
    store = Store()
    obj = manifest(store, mt.OCI_CONFIG, [(PAYLOAD, SIMPLESIGNING)], size=MAX_ATTACHMENT_SIZE + 1)
    found = classify(json.dumps(obj).encode(), mt.OCI_MANIFEST, store)
    assert found.kind is Kind.IMAGE and "too large" in found.reason
    assert store.asked == []


def test_indexes() -> None:
    store = Store()
    image = store.put(manifest(store, mt.OCI_CONFIG, [IMAGE_LAYER]))
    sig = store.put(manifest(store, COSIGN_SIG, [(PAYLOAD, SIMPLESIGNING)]))
    att = store.put(manifest(store, mt.OCI_CONFIG, [(ENVELOPE, DSSE_ENVELOPE)]))

    def index(*entries: dict[str, Any]) -> bytes:
        return json.dumps(
            {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": list(entries)}
        ).encode()

    def kind(raw: bytes, content: Store | None = store) -> Kind:
        return classify(raw, mt.OCI_INDEX, content).kind

    referrers = index({**sig, "artifactType": COSIGN_SIG}, att)
    assert kind(referrers) is Kind.ARTIFACT_INDEX
    assert kind(referrers, None) is Kind.IMAGE_INDEX  # nothing looked up: fail closed
    assert kind(index(image, att)) is Kind.IMAGE_INDEX
    # an image listed as if it were a signature is still an image
    assert kind(index({**image, "artifactType": COSIGN_SIG})) is Kind.IMAGE_INDEX
    # a child that is not there cannot be vouched for
    assert kind(index(sig, {**NOWHERE, "artifactType": COSIGN_SIG})) is Kind.IMAGE_INDEX
    assert kind(index()) is Kind.ARTIFACT_INDEX
    # nested indexes are judged by what they list in the end
    inner = json.loads(referrers)
    assert kind(index(store.put(inner))) is Kind.ARTIFACT_INDEX
    inner["manifests"].append(image)
    assert kind(index(store.put(inner))) is Kind.IMAGE_INDEX

    found = classify(index(image, sig), mt.OCI_INDEX, store)
    assert [c.runnable for c in found.children] == [True, False]
    assert found.children[1].classification is not None
    assert found.children[1].classification.kind is Kind.SIGNATURE


def test_deeply_nested_indexes_count_as_runnable() -> None:
    store = Store()
    entry = store.put(manifest(store, COSIGN_SIG, [(PAYLOAD, SIMPLESIGNING)]))
    for _ in range(10):
        entry = store.put({"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [entry]})
    raw = store.manifests[Digest.parse(entry["digest"])][0]
    assert classify(raw, mt.OCI_INDEX, store).kind is Kind.IMAGE_INDEX


def test_media_types_are_the_signers() -> None:
    assert sign.SIMPLESIGNING_MEDIA_TYPE == SIMPLESIGNING
    assert sign.DSSE_MEDIA_TYPE == DSSE_ENVELOPE
    assert sign.INTOTO_PAYLOAD_TYPE == INTOTO_STATEMENT
    assert sign.artifact_type("sig") == COSIGN_SIG
    assert sign.artifact_type("att") == COSIGN_ATT
