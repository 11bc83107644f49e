"""Sparse indexes (children not in the repository), for filtered mirrors of multi-platform
images, behind distribution 3's switch ``validation.manifests.indexes.platforms``: ``all`` (the
default) = every child must be there, ``none`` = none need be, ``list`` = only the children
whose platform ``platformlist`` names must be."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import run_command
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    PushedImage,
    descriptor,
    error_code,
    push_image,
    sha256,
    start_registry,
)
from dockyard.errors import InvalidArgument
from dockyard.registry import Registry, build_app
from dockyard.registry._gc import collect_garbage
from dockyard.registry.config import load

#: (os, architecture) of the index's children
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"), ("windows", "amd64"))

NONE = "validation: {manifests: {indexes: {platforms: none}}}\n"
LIST = (
    "validation:\n"
    "  manifests:\n"
    "    indexes:\n"
    "      platforms: List\n"  # distribution reads the option without regard to case
    "      platformlist:\n"
    "        - {os: linux, architecture: amd64}\n"
)


def _config_file(tmp_path: Path, validation: str = "") -> Path:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\n"
        "storage:\n"
        f"  filesystem: {{rootdirectory: {tmp_path / 'data'}}}\n"
        "  delete: {enabled: true}\n" + validation
    )
    return path


@contextlib.contextmanager
def _served(tmp_path: Path, validation: str = "") -> Iterator[tuple[ASGIClient, Registry]]:
    """The app ``dockyard registry serve`` would build from a config file with ``validation``."""
    app = build_app(load(_config_file(tmp_path, validation), {}), access_log=False)
    try:
        with ASGIClient(app) as client:
            yield client, app.registry
    finally:
        app.registry.close()


def _children(client: ASGIClient, push: set[str]) -> list[tuple[dict[str, object], PushedImage]]:
    """One image per platform; only those whose "os/arch" is in ``push`` are pushed."""
    out = []
    for os_name, arch in PLATFORMS:
        img = push_image(client, "mirror", None, seed=f"{os_name}-{arch}")
        if f"{os_name}/{arch}" not in push:
            assert client.delete(f"/v2/mirror/manifests/{img.digest}").status_code == 202
        entry = {
            **descriptor(img.manifest, OCI_MANIFEST),
            "platform": {"architecture": arch, "os": os_name},
        }
        out.append((entry, img))
    return out


def _index(entries: list[dict[str, object]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()


def _put_index(client: ASGIClient, index: bytes, tag: str = "multi") -> httpx.Response:
    return client.put(
        f"/v2/mirror/manifests/{tag}", content=index, headers={"content-type": OCI_INDEX}
    )


def test_default_refuses_an_index_with_missing_children(tmp_path: Path) -> None:
    with _served(tmp_path) as (client, _):
        children = _children(client, push={"linux/amd64", "linux/arm64"})
        r = _put_index(client, _index([entry for entry, _ in children]))
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        assert r.json()["errors"][0]["detail"]["digests"] == [children[2][1].digest]
        assert client.get("/v2/mirror/manifests/multi").status_code == 404


def test_platforms_none_accepts_a_sparse_index(tmp_path: Path) -> None:
    with _served(tmp_path, NONE) as (client, _):
        children = _children(client, push={"linux/amd64"})
        index = _index([entry for entry, _ in children])
        r = _put_index(client, index)
        assert r.status_code == 201, r.text
        got = client.get("/v2/mirror/manifests/multi")
        assert got.status_code == 200 and got.content == index
        amd, arm, win = (img for _, img in children)
        assert client.get(f"/v2/mirror/manifests/{amd.digest}").content == amd.manifest
        for missing in (arm, win):  # a pull of a child that is not here: as usual
            r = client.get(f"/v2/mirror/manifests/{missing.digest}")
            assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
        # an index of nothing that is here at all
        r = _put_index(client, _index([entry for entry, _ in children[1:]]), "others")
        assert r.status_code == 201, r.text


def test_platforms_list_requires_only_the_listed_platforms(tmp_path: Path) -> None:
    with _served(tmp_path, LIST) as (client, _):
        children = _children(client, push={"linux/arm64"})
        index = _index([entry for entry, _ in children])
        r = _put_index(client, index)  # linux/amd64 is listed and missing
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        assert r.json()["errors"][0]["detail"]["digests"] == [children[0][1].digest]
        amd = children[0][1]
        r = client.put(
            f"/v2/mirror/manifests/{amd.digest}",
            content=amd.manifest,
            headers={"content-type": OCI_MANIFEST},
        )
        assert r.status_code == 201
        r = _put_index(client, index)  # windows/amd64 is missing and not listed
        assert r.status_code == 201, r.text
        assert client.get("/v2/mirror/manifests/multi").content == index


def test_a_platform_entry_leaving_a_field_out_requires_more(tmp_path: Path) -> None:
    """``{os: linux}`` (or an entry whose ``architecture`` key is misspelt, which the config
    warns about) matches every linux child: a mistake checks more, never less."""
    validation = (
        "validation: {manifests: {indexes: {platforms: list, platformlist: "
        "[{os: linux, architectur: amd64}]}}}\n"
    )
    config = load(_config_file(tmp_path, validation), {})
    assert any("architectur" in w for w in config.warnings), config.warnings
    with _served(tmp_path, validation) as (client, _):
        children = _children(client, push={"linux/amd64"})
        r = _put_index(client, _index([entry for entry, _ in children]))
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
        assert r.json()["errors"][0]["detail"]["digests"] == [children[1][1].digest]
        r = _put_index(client, _index([entry for entry, _ in children[::2]]))
        assert r.status_code == 201, r.text  # linux/amd64 here, windows/amd64 not required


def test_gc_keeps_working_with_sparse_indexes(tmp_path: Path) -> None:
    """A sparse index's missing children are references to nothing: garbage collection runs,
    keeps the index and what it lists, and keeps a child pushed later."""
    with _served(tmp_path, NONE) as (client, registry):
        children = _children(client, push={"linux/amd64"})
        index = _index([entry for entry, _ in children])
        assert _put_index(client, index).status_code == 201
        amd, arm, win = (img for _, img in children)
        report = collect_garbage(registry, delete_untagged=True, grace=-1)
        assert report.manifests == []
        for blob in arm.layers:  # the missing children's blobs are nobody's: collected
            assert sha256(blob) in report.blobs
        assert client.get("/v2/mirror/manifests/multi").content == index
        assert client.get(f"/v2/mirror/manifests/{amd.digest}").status_code == 200
        for blob in amd.layers:
            assert client.get(f"/v2/mirror/blobs/{sha256(blob)}").status_code == 200
        # the missing child arrives later (a mirror filling in): the index keeps it
        pushed = push_image(client, "mirror", win.digest, seed="windows-amd64")
        assert pushed.digest == win.digest
        report = collect_garbage(registry, delete_untagged=True, grace=-1)
        assert report.manifests == [] and report.blobs == []
        assert client.get(f"/v2/mirror/manifests/{win.digest}").status_code == 200
        # the index goes: its children are untagged now, and go too
        assert client.delete("/v2/mirror/manifests/multi").status_code == 202
        report = collect_garbage(registry, delete_untagged=True, grace=-1)
        assert sorted(d for _, d in report.manifests) == sorted(
            [sha256(index), amd.digest, win.digest]
        )


@pytest.mark.parametrize(
    ("validation", "words"),
    [
        ("validation: {manifests: {indexes: {platforms: some}}}\n", "all, none or list"),
        (
            "validation: {manifests: {indexes: {platforms: none, platformlist: [{os: linux}]}}}\n",
            "platforms: list",
        ),
        (
            "validation: {manifests: {indexes: {platforms: list, platformlist: [linux/amd64]}}}\n",
            "platformlist",
        ),
    ],
)
def test_bad_validation_settings_stop_start_up(tmp_path: Path, validation: str, words: str) -> None:
    with pytest.raises(InvalidArgument, match=r"validation\.manifests\.indexes") as info:
        load(_config_file(tmp_path, validation), {})
    assert words in str(info.value)


def test_validation_from_the_environment(tmp_path: Path) -> None:
    env = {"REGISTRY_VALIDATION_MANIFESTS_INDEXES_PLATFORMS": "none"}
    config = load(_config_file(tmp_path), env)
    assert config.index_validation.platforms == "none"
    assert not any("validation" in w for w in config.warnings)
    assert load(_config_file(tmp_path), {}).index_validation.platforms == "all"


def _oci_layout(where: Path) -> tuple[bytes, list[str]]:
    """An OCI layout holding a two-platform index tagged ``t``: its bytes and child digests."""
    blobs = where / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        (blobs / sha256(data)[7:]).write_bytes(data)
        return {"digest": sha256(data), "size": len(data)}

    entries = []
    for arch in ("amd64", "arm64"):
        config = json.dumps(
            {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
        ).encode()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
                "layers": [],
            }
        ).encode()
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                **put(manifest),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = _index(entries)
    top = put(index)
    (where / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    ref = {"org.opencontainers.image.ref.name": "t"}
    (where / "index.json").write_text(
        json.dumps(
            {"schemaVersion": 2, "manifests": [{"mediaType": OCI_INDEX, **top, "annotations": ref}]}
        )
    )
    return index, [str(e["digest"]) for e in entries]


@pytest.mark.slow
def test_skopeo_index_only_copy_to_a_filtered_mirror(tmp_path: Path) -> None:
    """``skopeo copy --multi-arch index-only`` pushes the index alone: refused by default,
    accepted by a registry configured with ``platforms: none``."""
    index, children = _oci_layout(tmp_path / "layout")
    source = f"oci:{tmp_path / 'layout'}:t"
    copy = ["skopeo", "copy", "--quiet", "--multi-arch", "index-only", "--dest-tls-verify=false"]
    with start_registry(tmp_path / "strict") as strict:
        failed = run_command([*copy, source, f"docker://{strict.host}/mirror:t"], check=False)
        assert failed.returncode != 0
        assert "manifest blob unknown" in failed.stderr.lower(), failed.stderr
    config = _config_file(tmp_path, NONE)
    with start_registry(tmp_path / "sparse", "-c", str(config)) as sparse:
        run_command([*copy, source, f"docker://{sparse.host}/mirror:t"])
        assert httpx.get(f"{sparse.url}/v2/mirror/manifests/t").content == index
        for digest in children:
            assert httpx.head(f"{sparse.url}/v2/mirror/manifests/{digest}").status_code == 404
