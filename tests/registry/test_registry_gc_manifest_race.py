"""A manifest PUT and a garbage collection on another process: the PUT checks its blobs (and
an index its children) before it stores the manifest; a collection that deletes them in
between must make the PUT fail (the client pushes them again), never store a manifest whose
content is gone. The two steps are run by hand, in the order the race takes."""

from __future__ import annotations

import json

import pytest

from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    backdate,
    descriptor,
    error_code,
    make_manifest,
    push_blob,
    sha256,
)
from dockyard.errors import ManifestBlobUnknown
from dockyard.registry import Registry
from dockyard.registry._gc import collect_garbage
from dockyard.registry._manifests import check_manifest


def test_blobs_collected_after_the_check_fail_the_manifest_put(
    client: ASGIClient, registry: Registry
) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    layer = b"a layer a push uploaded a while ago" * 10
    for blob in (config, layer):
        push_blob(client, "app", blob)
    backdate(registry)  # uploaded before the collection's time window
    body = make_manifest(config, [layer])
    checked = check_manifest(registry.meta, "app", "v1", body, OCI_MANIFEST, registry.storage)
    assert checked.needed_blobs == {sha256(config), sha256(layer)}
    report = collect_garbage(registry, grace=0)  # another replica, between check and store
    assert sorted(report.blobs) == sorted([sha256(config), sha256(layer)])
    with pytest.raises(ManifestBlobUnknown) as failed:
        registry.meta.put_manifest("app", checked, ("v1",))
    assert "push them again" in str(failed.value)
    assert registry.meta.manifest_by_tag("app", "v1") is None  # nothing half-stored
    # the client pushes the blobs again, then the manifest: stored, and complete
    for blob in (config, layer):
        push_blob(client, "app", blob)
    r = client.put("/v2/app/manifests/v1", content=body, headers={"content-type": OCI_MANIFEST})
    assert r.status_code == 201, r.text
    assert client.get(f"/v2/app/blobs/{sha256(layer)}").content == layer


def test_children_collected_after_the_check_fail_the_index_put(
    client: ASGIClient, registry: Registry
) -> None:
    config = json.dumps({"architecture": "arm64", "os": "linux"}).encode()
    layer = b"arm64 layer" * 10
    for blob in (config, layer):
        push_blob(client, "app", blob)
    child = make_manifest(config, [layer])
    r = client.put(
        f"/v2/app/manifests/{sha256(child)}", content=child, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    backdate(registry)
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX,
         "manifests": [descriptor(child, OCI_MANIFEST, platform={"os": "linux",
                                                                 "architecture": "arm64"})]}
    ).encode()  # fmt: skip
    checked = check_manifest(registry.meta, "app", "multi", index, OCI_INDEX, registry.storage)
    collected = collect_garbage(registry, grace=0, delete_untagged=True)
    assert collected.manifests == [("app", sha256(child))]
    with pytest.raises(ManifestBlobUnknown):
        registry.meta.put_manifest("app", checked, ("multi",))
    r = client.put("/v2/app/manifests/multi", content=index, headers={"content-type": OCI_INDEX})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
