"""Tag lists, the catalog and the referrers API."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    descriptor,
    error_code,
    push_blob,
    push_image,
    sha256,
    start_registry,
)


def _tag_all(client: ASGIClient, name: str, tags: list[str]) -> None:
    img = push_image(client, name, tags[0])
    for tag in tags[1:]:
        r = client.put(
            f"/v2/{name}/manifests/{tag}",
            content=img.manifest,
            headers={"content-type": OCI_MANIFEST},
        )
        assert r.status_code == 201


def test_tags_sorted_and_paginated(client: ASGIClient) -> None:
    tags = ["v10", "latest", "v2", "v1", "A", "_x"]
    _tag_all(client, "app", tags)
    r = client.get("/v2/app/tags/list")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "app", "tags": sorted(tags)}
    assert "link" not in r.headers
    seen: list[str] = []
    url = "/v2/app/tags/list?n=2"
    pages = 0
    while url:
        r = client.get(url)
        page = r.json()["tags"]
        assert len(page) <= 2
        seen += page
        pages += 1
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
        if link:
            assert link.endswith('rel="next"')
    assert seen == sorted(tags) and pages == 3
    assert client.get("/v2/app/tags/list?n=2&last=latest").json()["tags"] == ["v1", "v10"]
    assert client.get("/v2/app/tags/list?last=v10").json()["tags"] == ["v2"]
    assert client.get("/v2/app/tags/list?n=0").json()["tags"] == []
    assert client.get("/v2/app/tags/list?last=zzz").json()["tags"] == []


def test_tags_of_unknown_repository(client: ASGIClient) -> None:
    r = client.get("/v2/nothing/tags/list")
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"


def test_tags_bad_n(client: ASGIClient) -> None:
    _tag_all(client, "app", ["a"])
    for bad in ("-1", "x", "1.5"):
        r = client.get(f"/v2/app/tags/list?n={bad}")
        assert r.status_code == 400, bad
        assert "n=" in r.json()["errors"][0]["message"]


def test_catalog_paginated(client: ASGIClient) -> None:
    names = ["zeta", "alpha", "team/app", "team/api", "beta"]
    for name in names:
        push_image(client, name, "v1", seed=name)
    assert client.get("/v2/_catalog").json() == {"repositories": sorted(names)}
    seen: list[str] = []
    url = "/v2/_catalog?n=2"
    while url:
        r = client.get(url)
        assert r.status_code == 200
        seen += r.json()["repositories"]
        link = r.headers.get("link")
        url = link[1 : link.index(">")] if link else ""
    assert seen == sorted(names)
    assert client.get("/v2/_catalog?n=2&last=beta").json()["repositories"] == [
        "team/api",
        "team/app",
    ]
    assert client.get("/v2/_catalog?n=0").json()["repositories"] == []
    assert client.post("/v2/_catalog").status_code == 405


@pytest.mark.slow
def test_catalog_lists_only_repositories_with_manifests(tmp_path: Path) -> None:
    """As registry:2 (which lists a repository once it has a ``_manifests`` directory): a
    repository that only has an abandoned upload, or only blobs, is not in the catalog."""
    with (
        start_registry(tmp_path / "served", "--delete") as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        push_image(client, "shipped/app", "v1")
        r = client.post("/v2/abandoned/upload/blobs/uploads/")
        assert r.status_code == 202
        assert client.patch(r.headers["location"], content=b"half a layer").status_code == 202
        push_blob(client, "only/blobs", b"a layer without a manifest")
        untagged = push_image(client, "untagged/app", None, seed="u")
        assert client.get("/v2/_catalog").json() == {
            "repositories": ["shipped/app", "untagged/app"]
        }
        assert client.get("/v2/_catalog?n=1").json() == {"repositories": ["shipped/app"]}
        r = client.get("/v2/_catalog?n=1&last=shipped/app")
        assert r.json() == {"repositories": ["untagged/app"]} and "link" not in r.headers
        # a repository whose last manifest is deleted leaves the catalog again
        r = client.delete(f"/v2/untagged/app/manifests/{untagged.digest}")
        assert r.status_code == 202, r.text
        assert client.get("/v2/_catalog").json() == {"repositories": ["shipped/app"]}


def _artifact(client: ASGIClient, name: str, subject: dict[str, object], kind: str, n: int) -> str:
    empty = push_blob(client, name, b"{}")
    payload = f"{kind} payload {n}".encode()
    push_blob(client, name, payload)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": kind,
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": empty,
                "size": 2,
            },
            "layers": [descriptor(payload, "application/octet-stream")],
            "subject": subject,
            "annotations": {"n": str(n)},
        }
    ).encode()
    r = client.put(
        f"/v2/{name}/manifests/{sha256(manifest)}",
        content=manifest,
        headers={"content-type": OCI_MANIFEST},
    )
    assert r.status_code == 201, r.text
    assert r.headers["oci-subject"] == subject["digest"]
    return sha256(manifest)


def test_referrers(client: ASGIClient) -> None:
    img = push_image(client, "app")
    subject = descriptor(img.manifest, OCI_MANIFEST)
    sig = _artifact(client, "app", subject, "application/vnd.example.signature", 1)
    sbom = _artifact(client, "app", subject, "application/vnd.example.sbom", 2)
    r = client.get(f"/v2/app/referrers/{img.digest}")
    assert r.status_code == 200
    assert r.headers["content-type"] == OCI_INDEX
    assert "oci-filters-applied" not in r.headers
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    by_digest = {m["digest"]: m for m in index["manifests"]}
    assert set(by_digest) == {sig, sbom}
    assert by_digest[sig]["artifactType"] == "application/vnd.example.signature"
    assert by_digest[sig]["mediaType"] == OCI_MANIFEST
    assert by_digest[sig]["annotations"] == {"n": "1"}
    assert by_digest[sig]["size"] > 0
    r = client.get(
        f"/v2/app/referrers/{img.digest}", params={"artifactType": "application/vnd.example.sbom"}
    )
    assert r.headers["oci-filters-applied"] == "artifactType"
    assert [m["digest"] for m in r.json()["manifests"]] == [sbom]
    # referrers are per repository, and deleting a referrer removes it from the list
    assert client.get(f"/v2/other/referrers/{img.digest}").json()["manifests"] == []
    assert client.delete(f"/v2/app/manifests/{sig}").status_code == 202
    assert [
        m["digest"] for m in client.get(f"/v2/app/referrers/{img.digest}").json()["manifests"]
    ] == [sbom]


def test_referrers_subject_may_be_missing(client: ASGIClient) -> None:
    """A referrer can be pushed before its subject (the spec allows it)."""
    ghost = {"mediaType": OCI_MANIFEST, "digest": sha256(b"not here yet"), "size": 12}
    ref = _artifact(client, "app", ghost, "application/vnd.example.note", 1)
    r = client.get(f"/v2/app/referrers/{ghost['digest']}")
    assert [m["digest"] for m in r.json()["manifests"]] == [ref]


def test_referrers_image_config_type(client: ASGIClient) -> None:
    """Without artifactType, an image manifest's config media type is its artifact type."""
    img = push_image(client, "app")
    sub = push_image(
        client, "app", None, seed="child", subject=descriptor(img.manifest, OCI_MANIFEST)
    )
    r = client.get(f"/v2/app/referrers/{img.digest}").json()
    assert r["manifests"] == [
        {
            "mediaType": OCI_MANIFEST,
            "digest": sub.digest,
            "size": len(sub.manifest),
            "artifactType": "application/vnd.oci.image.config.v1+json",
        }
    ]


def test_referrers_bad_digest(client: ASGIClient) -> None:
    r = client.get("/v2/app/referrers/sha256:nothex")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
