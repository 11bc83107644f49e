"""A manifest PUT must declare the manifest's media type as its Content-Type (as registry:2
requires), and it must match the body's own ``mediaType`` when the body has one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    PushedImage,
    RegistryProcess,
    error_code,
    push_image,
    start_registry,
)

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RegistryProcess, PushedImage]]:
    root: Path = tmp_path_factory.mktemp("content-type")
    with start_registry(root / "data") as server:
        with httpx.Client(base_url=server.url) as client:
            image = push_image(client, "app", "v1")
        yield server, image


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "application/json", "application/octet-stream"],
)
def test_a_manifest_without_a_manifest_content_type_is_refused(
    served: tuple[RegistryProcess, PushedImage], content_type: str | None
) -> None:
    server, image = served
    headers = {} if content_type is None else {"content-type": content_type}
    with httpx.Client(base_url=server.url) as client:
        r = client.put("/v2/app/manifests/sniffed", content=image.manifest, headers=headers)
        if content_type is None:
            assert "content-type" not in r.request.headers
        assert r.status_code == 400, r.text
        assert error_code(r) == "MANIFEST_INVALID"
        assert "Content-Type" in r.json()["errors"][0]["message"]
        assert client.head("/v2/app/manifests/sniffed").status_code == 404


@pytest.mark.parametrize("content_type", [DOCKER_MANIFEST, OCI_INDEX])
def test_a_content_type_that_contradicts_the_body_is_refused(
    served: tuple[RegistryProcess, PushedImage], content_type: str
) -> None:
    server, image = served
    assert json.loads(image.manifest)["mediaType"] == OCI_MANIFEST
    with httpx.Client(base_url=server.url) as client:
        r = client.put(
            "/v2/app/manifests/contradicted",
            content=image.manifest,
            headers={"content-type": content_type},
        )
        assert r.status_code == 400, r.text
        assert error_code(r) == "MANIFEST_INVALID"
        assert client.head("/v2/app/manifests/contradicted").status_code == 404


def test_the_declared_type_is_accepted_with_parameters_and_without_a_body_field(
    served: tuple[RegistryProcess, PushedImage],
) -> None:
    server, image = served
    with httpx.Client(base_url=server.url) as client:
        r = client.put(
            "/v2/app/manifests/v2",
            content=image.manifest,
            headers={"content-type": OCI_MANIFEST + "; charset=utf-8"},
        )
        assert r.status_code == 201, r.text
        # an OCI manifest may leave out mediaType: the Content-Type says what it is
        bare = json.loads(image.manifest)
        del bare["mediaType"]
        r = client.put(
            "/v2/app/manifests/bare",
            content=json.dumps(bare).encode(),
            headers={"content-type": OCI_MANIFEST},
        )
        assert r.status_code == 201, r.text
        r = client.get("/v2/app/manifests/bare", headers={"accept": OCI_MANIFEST})
        assert r.status_code == 200 and r.headers["content-type"] == OCI_MANIFEST
