"""Garbage collection: what it deletes, what it keeps, and pushes racing it."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from _infra import backend, run_dockyard
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    backdate,
    descriptor,
    make_manifest,
    push_blob,
    push_image,
    sha256,
)
from dockyard.registry import Registry, RegistryApp
from dockyard.registry._gc import collect_garbage


def test_gc_deletes_only_unreferenced_blobs(client: ASGIClient, registry: Registry) -> None:
    img = push_image(client, "app")
    stray = push_blob(client, "app", b"nobody refers to me")
    assert collect_garbage(registry).blobs == []  # too recent: a push may still need it
    backdate(registry)
    dry = collect_garbage(registry, dry_run=True)
    assert dry.blobs == [stray]
    assert client.get(f"/v2/app/blobs/{stray}").status_code == 200  # a GET keeps no blob alive
    report = collect_garbage(registry)
    assert report.blobs == [stray] and report.bytes_freed == len(b"nobody refers to me")
    assert client.head(f"/v2/app/blobs/{stray}").status_code == 404
    for blob in (img.config, *img.layers):
        assert client.get(f"/v2/app/blobs/{sha256(blob)}").content == blob
    assert client.get("/v2/app/manifests/latest").content == img.manifest


def test_head_and_mount_keep_a_blob_a_push_relies_on(
    client: ASGIClient, registry: Registry
) -> None:
    """A push that learns a blob exists (HEAD) or mounts it skips uploading it; the answer
    refreshes the link, so a collection running next keeps the blob for the manifest PUT."""
    headed = push_blob(client, "app", b"a push will HEAD me")
    mounted = push_blob(client, "base", b"a push will mount me")
    backdate(registry)
    assert client.head(f"/v2/app/blobs/{headed}").status_code == 200
    r = client.post(f"/v2/app/blobs/uploads/?mount={mounted}&from=base")
    assert r.status_code == 201
    assert collect_garbage(registry).blobs == []
    backdate(registry)
    assert sorted(collect_garbage(registry).blobs) == sorted([headed, mounted])
    assert client.head(f"/v2/app/blobs/{headed}").status_code == 404


def test_manifest_put_needs_the_blob_bytes_not_just_the_record(
    client: ASGIClient, registry: Registry
) -> None:
    """The state a crash leaves between committing a blob's record and renaming its file into
    place (made here by deleting the file; no real process can be stopped at that instant):
    the blob is absent to HEAD/GET and to a manifest PUT, and uploading it again repairs it."""
    config, layer = b'{"os":"linux"}', b"layer bytes" * 100
    push_blob(client, "app", config)
    digest = push_blob(client, "app", layer)
    key = f"blobs/sha256/{digest[7:9]}/{digest[7:]}"
    assert registry.storage.stat(key) is not None
    registry.storage.delete(key)
    manifest = make_manifest(config, [layer])
    put = {"content": manifest, "headers": {"content-type": OCI_MANIFEST}}
    r = client.put("/v2/app/manifests/v1", **put)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"
    assert client.head(f"/v2/app/blobs/{digest}").status_code == 404
    assert client.post(f"/v2/other/blobs/uploads/?mount={digest}&from=app").status_code == 202
    push_blob(client, "app", layer)
    assert client.put("/v2/app/manifests/v1", **put).status_code == 201
    assert client.get(f"/v2/app/blobs/{digest}").content == layer


def test_gc_removes_unrecorded_files(registry: Registry) -> None:
    data = b"left by a crash between rename and record"
    digest = sha256(data)
    key = f"blobs/sha256/{digest[7:9]}/{digest[7:]}"
    writer = registry.storage.writer(key)
    writer.write(data)
    writer.close()
    assert collect_garbage(registry).orphans == []
    # past a window of nothing (an object store keeps its own times: files cannot be backdated)
    assert collect_garbage(registry, grace=0.0).orphans == [key]
    assert registry.storage.stat(key) is None


def test_gc_delete_untagged_keeps_index_children(client: ASGIClient, registry: Registry) -> None:
    amd = push_image(client, "multi", None, seed="amd")
    arm = push_image(client, "multi", None, seed="arm")
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                descriptor(amd.manifest, OCI_MANIFEST),
                descriptor(arm.manifest, OCI_MANIFEST),
            ],
        }
    ).encode()
    assert (
        client.put(
            "/v2/multi/manifests/all", content=index, headers={"content-type": OCI_INDEX}
        ).status_code
        == 201
    )
    lonely = push_image(client, "multi", None, seed="lonely")
    referrer = push_image(
        client, "multi", None, seed="sig", subject=descriptor(amd.manifest, OCI_MANIFEST)
    )
    backdate(registry)
    report = collect_garbage(registry, delete_untagged=True)
    assert report.manifests == [("multi", lonely.digest)]
    assert client.get(f"/v2/multi/manifests/{lonely.digest}").status_code == 404
    for kept in (amd, arm, referrer):
        assert client.get(f"/v2/multi/manifests/{kept.digest}").status_code == 200
        for blob in (kept.config, *kept.layers):
            assert client.head(f"/v2/multi/blobs/{sha256(blob)}").status_code == 200
    for blob in (lonely.config, *lonely.layers):
        assert client.head(f"/v2/multi/blobs/{sha256(blob)}").status_code == 404
    # untagging the index frees its children next time
    client.delete("/v2/multi/manifests/all")
    backdate(registry)
    again = collect_garbage(registry, delete_untagged=True)
    assert {d for _, d in again.manifests} >= {amd.digest, arm.digest}


@pytest.mark.slow
def test_pushes_racing_gc_lose_nothing(tmp_path: Path) -> None:
    """Re-pushing blobs that the collector is deleting at the same moment: every manifest the
    registry accepts still has all of its blobs afterwards."""
    registry = backend.open_registry(tmp_path / "r")
    layers = [f"shared layer {i}".encode() * 50 for i in range(20)]
    with ASGIClient(RegistryApp(registry, threads=4)) as client:
        for layer in layers:
            push_blob(client, "seed", layer)
        backdate(registry)
        stop = threading.Event()
        collected: list[str] = []

        def collector() -> None:
            while not stop.is_set():
                collected.extend(collect_garbage(registry, grace=5.0).blobs)

        thread = threading.Thread(target=collector)
        thread.start()
        accepted: list[tuple[str, list[bytes]]] = []
        try:
            for i, layer in enumerate(layers):
                config = f'{{"n":{i}}}'.encode()
                push_blob(client, "app", config)
                push_blob(client, "app", layer)
                manifest = make_manifest(config, [layer])
                r = client.put(
                    f"/v2/app/manifests/t{i}",
                    content=manifest,
                    headers={"content-type": OCI_MANIFEST},
                )
                if r.status_code == 201:
                    accepted.append((f"t{i}", [config, layer]))
        finally:
            stop.set()
            thread.join()
        assert collected, "the collector never deleted anything: the race was not exercised"
        assert accepted
        for tag, blobs_ in accepted:
            assert client.get(f"/v2/app/manifests/{tag}").status_code == 200
            for blob in blobs_:
                r = client.get(f"/v2/app/blobs/{sha256(blob)}")
                assert r.status_code == 200 and r.content == blob, tag
    registry.close()


@pytest.mark.slow
def test_gc_command(tmp_path: Path) -> None:
    root = tmp_path / "data"
    registry = backend.open_registry(root)
    with ASGIClient(RegistryApp(registry, threads=2)) as client:
        stray = push_blob(client, "app", b"stray")
    backdate(registry)
    registry.close()
    env = backend.serve_env(root, {})
    out = run_dockyard(
        "registry", "gc", "--root", root, "--dry-run", root=tmp_path / "store", env=env
    )
    assert f"would delete blob {stray}" in out.stdout
    out = run_dockyard(
        "registry", "gc", "--root", root, "--format", "json", root=tmp_path / "store", env=env
    )
    assert json.loads(out.stdout)["blobs"] == [stray]
    with backend.storage(root) as storage:
        assert storage.stat(f"blobs/sha256/{stray[7:9]}/{stray[7:]}") is None
