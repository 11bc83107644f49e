"""``PUT /v2/<name>/manifests/<digest>?tag=a&tag=b``: several tags in one push, as the
distribution spec's next release describes (one ``OCI-Tag`` header per tag applied; an invalid
tag fails the whole request and nothing is stored; at most ``limits.tagsperput`` tags)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import (
    OCI_MANIFEST,
    ASGIClient,
    PushedImage,
    error_code,
    push_image,
    start_registry,
)
from dockyard.registry import Registry, RegistryApp
from dockyard.registry.limits import Limits


def _oci_tags(r: httpx.Response) -> list[str]:
    """Every tag the OCI-Tag headers name (a header may list several, comma-separated)."""
    return [t.strip() for v in r.headers.get_list("oci-tag") for t in v.split(",") if t.strip()]


def _image_not_stored(client: ASGIClient) -> PushedImage:
    """Blobs pushed, manifest not: push_image with a tag, then delete the manifest."""
    img = push_image(client, "app", None)
    assert client.delete(f"/v2/app/manifests/{img.digest}").status_code == 202
    return img


def _put(client: ASGIClient, reference: str, img: PushedImage, query: str) -> httpx.Response:
    return client.put(
        f"/v2/app/manifests/{reference}?{query}",
        content=img.manifest,
        headers={"content-type": OCI_MANIFEST},
    )


def test_put_by_digest_applies_every_tag(client: ASGIClient) -> None:
    img = _image_not_stored(client)
    r = _put(client, img.digest, img, "tag=1.2.3&tag=1.2&tag=latest&tag=1.2")
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == img.digest
    assert sorted(_oci_tags(r)) == ["1.2", "1.2.3", "latest"]  # each once
    assert client.get("/v2/app/tags/list").json()["tags"] == ["1.2", "1.2.3", "latest"]
    for tag in ("1.2.3", "1.2", "latest"):
        got = client.get(f"/v2/app/manifests/{tag}")
        assert got.status_code == 200 and got.content == img.manifest


def test_tags_move_from_another_manifest(client: ASGIClient) -> None:
    old = push_image(client, "app", "latest", seed="old")
    new = push_image(client, "app", None, seed="new")
    r = _put(client, new.digest, new, "tag=latest&tag=v2")
    assert r.status_code == 201, r.text
    assert client.get("/v2/app/manifests/latest").content == new.manifest
    assert client.get(f"/v2/app/manifests/{old.digest}").status_code == 200


@pytest.mark.parametrize("bad", ["-bad", ".dot", "a" * 129, "", "sp ace", "sha256:abc"])
def test_one_invalid_tag_fails_the_whole_request(client: ASGIClient, bad: str) -> None:
    img = _image_not_stored(client)
    r = client.put(
        f"/v2/app/manifests/{img.digest}",
        params=[("tag", "good"), ("tag", bad), ("tag", "also-good")],
        content=img.manifest,
        headers={"content-type": OCI_MANIFEST},
    )
    assert r.status_code == 400, r.text
    assert error_code(r) == "MANIFEST_INVALID"
    assert "invalid tag" in r.json()["errors"][0]["message"]
    assert "oci-tag" not in r.headers
    # nothing stored: not the manifest, not any tag
    assert client.get(f"/v2/app/manifests/{img.digest}").status_code == 404
    assert client.get("/v2/app/tags/list").json()["tags"] == []


def test_invalid_tag_on_a_stored_manifest_tags_nothing(client: ASGIClient) -> None:
    img = push_image(client, "app", None)
    r = _put(client, img.digest, img, "tag=v1&tag=-v2")
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    assert client.get("/v2/app/tags/list").json()["tags"] == []


def test_tag_parameters_need_a_put_by_digest(client: ASGIClient) -> None:
    img = _image_not_stored(client)
    r = _put(client, "v1", img, "tag=v2")
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID"
    assert "by digest" in r.json()["errors"][0]["message"]
    assert client.get(f"/v2/app/manifests/{img.digest}").status_code == 404


def test_a_manifest_failing_validation_gets_no_tag(client: ASGIClient) -> None:
    img = _image_not_stored(client)
    wrong = "sha256:" + "0" * 64  # the body does not hash to the URL's digest
    r = _put(client, wrong, img, "tag=v1")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert client.get("/v2/app/tags/list").json()["tags"] == []


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ASGIClient]:
    registry = Registry.open(tmp_path / "registry")
    with ASGIClient(RegistryApp(registry, threads=2, limits=Limits(tags_per_put=3))) as client:
        yield client
    registry.close()


def test_tags_per_put_is_bounded(limited: ASGIClient) -> None:
    img = _image_not_stored(limited)
    r = _put(limited, img.digest, img, "tag=a&tag=b&tag=c&tag=d")
    assert r.status_code == 414, r.text
    assert error_code(r) == "MANIFEST_INVALID"
    assert "limits.tagsperput" in r.json()["errors"][0]["message"]
    assert limited.get(f"/v2/app/manifests/{img.digest}").status_code == 404
    r = _put(limited, img.digest, img, "tag=a&tag=b&tag=c&tag=c")  # 3 distinct: allowed
    assert r.status_code == 201, r.text
    assert sorted(_oci_tags(r)) == ["a", "b", "c"]


def test_default_bound_is_one_hundred(client: ASGIClient) -> None:
    img = _image_not_stored(client)
    query = "&".join(f"tag=t{i}" for i in range(101))
    r = _put(client, img.digest, img, query)
    assert r.status_code == 414 and error_code(r) == "MANIFEST_INVALID"
    query = "&".join(f"tag=t{i}" for i in range(100))
    r = _put(client, img.digest, img, query)
    assert r.status_code == 201, r.text
    assert len(_oci_tags(r)) == 100
    assert len(client.get("/v2/app/tags/list").json()["tags"]) == 100


@pytest.mark.slow
def test_oci_tag_headers_from_a_served_registry(tmp_path: Path) -> None:
    """Through a real ``dockyard registry serve`` process (uvicorn framing the headers)."""
    with start_registry(tmp_path / "served") as server, httpx.Client(base_url=server.url) as http:
        img = push_image(http, "app", None)
        r = http.put(
            f"/v2/app/manifests/{img.digest}",
            params=[("tag", "v1"), ("tag", "stable")],
            content=img.manifest,
            headers={"content-type": OCI_MANIFEST},
        )
        assert r.status_code == 201, r.text
        assert r.headers.get_list("oci-tag") == ["v1", "stable"]
        assert http.get("/v2/app/tags/list").json()["tags"] == ["stable", "v1"]
