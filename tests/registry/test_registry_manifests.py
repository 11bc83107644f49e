"""Manifests, blobs and the pages outside the API, through the in-process ASGI app."""

from __future__ import annotations

import json

from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    descriptor,
    error_code,
    make_manifest,
    push_blob,
    push_image,
    sha256,
    sha512,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


def test_base_and_pages(client: ASGIClient) -> None:
    r = client.get("/v2/")
    assert r.status_code == 200
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"
    assert r.json() == {}
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "docker push" in page.text and "registry.test/" in page.text
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/nothing-here").status_code == 404


def test_manifest_get_head_by_tag_and_digest(client: ASGIClient) -> None:
    img = push_image(client, "team/app", "v1")
    for ref in ("v1", img.digest):
        r = client.get(f"/v2/team/app/manifests/{ref}")
        assert r.status_code == 200
        assert r.content == img.manifest
        assert r.headers["content-type"] == OCI_MANIFEST
        assert r.headers["docker-content-digest"] == img.digest
        assert r.headers["etag"] == f'"{img.digest}"'
        assert r.headers["content-length"] == str(len(img.manifest))
        h = client.head(f"/v2/team/app/manifests/{ref}")
        assert h.status_code == 200 and h.content == b""
        assert h.headers["content-length"] == str(len(img.manifest))
        assert h.headers["docker-content-digest"] == img.digest
    r = client.get("/v2/team/app/manifests/v1", headers={"if-none-match": f'"{img.digest}"'})
    assert r.status_code == 304


def test_manifest_put_by_digest_and_retag(client: ASGIClient) -> None:
    img = push_image(client, "app", None)
    assert client.get("/v2/app/tags/list").json()["tags"] == []
    r = client.put(
        "/v2/app/manifests/stable", content=img.manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/app/manifests/{img.digest}"
    other = push_image(client, "app", "stable", seed="y")
    assert client.get("/v2/app/manifests/stable").headers["docker-content-digest"] == other.digest
    assert client.get(f"/v2/app/manifests/{img.digest}").status_code == 200


def test_manifest_digest_mismatch_in_url(client: ASGIClient) -> None:
    img = push_image(client, "app")
    wrong = sha256(b"something else")
    r = client.put(
        f"/v2/app/manifests/{wrong}", content=img.manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


def test_manifest_sha512_reference(client: ASGIClient) -> None:
    img = push_image(client, "app")
    digest = sha512(img.manifest)
    r = client.put(
        f"/v2/app/manifests/{digest}", content=img.manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    got = client.get(f"/v2/app/manifests/{digest}")
    assert got.content == img.manifest and got.headers["docker-content-digest"] == digest


def test_manifest_missing_blobs(client: ASGIClient) -> None:
    config = b'{"os":"linux"}'
    manifest = make_manifest(config, [b"never pushed"])
    r = client.put("/v2/app/manifests/x", content=manifest, headers={"content-type": OCI_MANIFEST})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert sha256(config) in r.json()["errors"][0]["detail"]["digests"]
    assert client.get("/v2/app/manifests/x").status_code == 404


def test_blob_of_another_repository_is_not_enough(client: ASGIClient) -> None:
    img = push_image(client, "one")
    r = client.put(
        "/v2/two/manifests/x", content=img.manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"


def test_foreign_layers_with_urls_need_not_be_pushed(client: ASGIClient) -> None:
    config = b'{"os":"windows"}'
    push_blob(client, "win", config)
    foreign = {
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": sha256(b"foreign"),
        "size": 7,
        "urls": ["https://example.com/layer.tar.gz"],
    }
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": descriptor(config, "application/vnd.docker.container.image.v1+json"),
            "layers": [foreign],
        }
    ).encode()
    r = client.put(
        "/v2/win/manifests/1", content=manifest, headers={"content-type": DOCKER_MANIFEST}
    )
    assert r.status_code == 201, r.text
    assert client.get("/v2/win/manifests/1").headers["content-type"] == DOCKER_MANIFEST


def test_index_and_manifest_list(client: ASGIClient) -> None:
    amd = push_image(client, "multi", None, seed="amd64")
    arm = push_image(client, "multi", None, seed="arm64")
    for media_type, child in ((OCI_INDEX, OCI_MANIFEST), (DOCKER_LIST, DOCKER_MANIFEST)):
        entries = [
            {
                **descriptor(amd.manifest, child),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                **descriptor(arm.manifest, child),
                "platform": {"architecture": "arm64", "os": "linux"},
            },
        ]
        index = json.dumps(
            {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
        ).encode()
        r = client.put(
            "/v2/multi/manifests/all", content=index, headers={"content-type": media_type}
        )
        assert r.status_code == 201, r.text
        got = client.get("/v2/multi/manifests/all")
        assert got.content == index and got.headers["content-type"] == media_type
    missing = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(b"{}", OCI_MANIFEST)],
        }
    ).encode()
    r = client.put("/v2/multi/manifests/bad", content=missing, headers={"content-type": OCI_INDEX})
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"


def test_artifact_manifest_with_artifact_type(client: ASGIClient) -> None:
    empty = push_blob(client, "art", b"{}")
    payload = b"some sbom"
    push_blob(client, "art", payload)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.example.sbom",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": empty,
                "size": 2,
            },
            "layers": [descriptor(payload, "application/spdx+json")],
        }
    ).encode()
    r = client.put(
        "/v2/art/manifests/sbom", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text


def test_manifest_delete_by_digest_and_tag(client: ASGIClient) -> None:
    img = push_image(client, "app", "v1")
    client.put("/v2/app/manifests/v2", content=img.manifest, headers={"content-type": OCI_MANIFEST})
    r = client.delete("/v2/app/manifests/v2")
    assert r.status_code == 202
    assert client.get("/v2/app/manifests/v2").status_code == 404
    assert client.get("/v2/app/tags/list").json()["tags"] == ["v1"]
    assert client.delete(f"/v2/app/manifests/{img.digest}").status_code == 202
    r = client.get(f"/v2/app/manifests/{img.digest}")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    assert client.get("/v2/app/manifests/v1").status_code == 404
    assert client.get("/v2/app/tags/list").json()["tags"] == []
    r = client.delete(f"/v2/app/manifests/{img.digest}")
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"


def test_manifest_cache_sees_every_write(client: ASGIClient) -> None:
    a = push_image(client, "app", "t", seed="a")
    assert client.get("/v2/app/manifests/t").content == a.manifest  # now cached
    b = push_image(client, "app", "t", seed="b")
    assert client.get("/v2/app/manifests/t").content == b.manifest
    client.delete("/v2/app/manifests/t")
    assert client.get("/v2/app/manifests/t").status_code == 404


def test_blob_get_head_delete(client: ASGIClient) -> None:
    data = bytes(range(256)) * 40
    digest = push_blob(client, "app", data)
    r = client.get(f"/v2/app/blobs/{digest}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["docker-content-digest"] == digest
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["etag"] == f'"{digest}"'
    h = client.head(f"/v2/app/blobs/{digest}")
    assert (
        h.status_code == 200 and h.content == b"" and h.headers["content-length"] == str(len(data))
    )
    r = client.get(f"/v2/other/blobs/{digest}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    assert client.head(f"/v2/other/blobs/{digest}").status_code == 404
    assert client.delete(f"/v2/app/blobs/{digest}").status_code == 202
    assert client.get(f"/v2/app/blobs/{digest}").status_code == 404
    assert client.delete(f"/v2/app/blobs/{digest}").status_code == 404


def test_blob_ranges(client: ASGIClient) -> None:
    data = bytes(range(256)) * 4
    digest = push_blob(client, "app", data)
    url = f"/v2/app/blobs/{digest}"
    for header, (start, end) in {
        "bytes=0-9": (0, 9),
        "bytes=1000-": (1000, 1023),
        "bytes=-24": (1000, 1023),
        "bytes=1020-5000": (1020, 1023),
    }.items():
        r = client.get(url, headers={"range": header})
        assert r.status_code == 206, header
        assert r.content == data[start : end + 1]
        assert r.headers["content-range"] == f"bytes {start}-{end}/1024"
    for bad in ("bytes=1024-", "bytes=5-2", "bytes=-0", "lines=1-2", "bytes=a-b", "bytes=-"):
        r = client.get(url, headers={"range": bad})
        assert r.status_code == 416, bad
        assert r.headers["content-range"] == "bytes */1024"


def test_large_blob_streams_in_chunks(client: ASGIClient) -> None:
    data = b"0123456789abcdef" * (600 * 1024)  # 9.6 MiB: several read chunks
    digest = push_blob(client, "big", data)
    r = client.get(f"/v2/big/blobs/{digest}")
    assert r.status_code == 200 and sha256(r.content) == digest
    r = client.get(f"/v2/big/blobs/{digest}", headers={"range": "bytes=5000000-9000000"})
    assert r.content == data[5000000:9000001]


def test_delete_disabled(tmp_path: object) -> None:
    from pathlib import Path

    from dockyard.registry import Registry, RegistryApp

    registry = Registry.open(Path(str(tmp_path)) / "r", delete_enabled=False)
    with ASGIClient(RegistryApp(registry, threads=2)) as client:
        img = push_image(client, "app")
        r = client.delete(f"/v2/app/manifests/{img.digest}")
        assert r.status_code == 405 and error_code(r) == "UNSUPPORTED"
        r = client.delete(f"/v2/app/blobs/{sha256(img.config)}")
        assert r.status_code == 405
        assert client.get(f"/v2/app/manifests/{img.digest}").status_code == 200
    registry.close()


# --- references that cannot exist -----------------------------------------------------------

#: tags no manifest can have: a leading '.' or '-', 129 characters, a character tags lack
IMPOSSIBLE_TAGS = ("-bad", ".bad", "a" * 129, "bad%21tag", "b@d")


def test_get_head_delete_of_an_impossible_tag_is_manifest_unknown(client: ASGIClient) -> None:
    """The OCI conformance suite and distribution answer 404 for a reference that cannot
    exist; a pull (GET/HEAD) or a DELETE of one is not a malformed request."""
    push_image(client, "app", "v1")
    for repository in ("app", "never-pushed"):
        for tag in IMPOSSIBLE_TAGS:
            url = f"/v2/{repository}/manifests/{tag}"
            r = client.get(url)
            assert r.status_code == 404, (url, r.text)
            assert error_code(r) == "MANIFEST_UNKNOWN", (url, r.text)
            assert client.head(url).status_code == 404, url
            r = client.delete(url)
            assert r.status_code == 404, (url, r.text)
            assert error_code(r) == "MANIFEST_UNKNOWN", (url, r.text)
    assert client.get("/v2/app/tags/list").json()["tags"] == ["v1"]


def test_put_with_an_impossible_tag_stays_manifest_invalid(client: ASGIClient) -> None:
    img = push_image(client, "app", None)
    for tag in IMPOSSIBLE_TAGS:
        r = client.put(
            f"/v2/app/manifests/{tag}", content=img.manifest, headers={"content-type": OCI_MANIFEST}
        )
        assert r.status_code == 400, (tag, r.text)
        assert error_code(r) == "MANIFEST_INVALID"
        assert "invalid tag" in r.json()["errors"][0]["message"]
    assert client.get("/v2/app/tags/list").json()["tags"] == []
