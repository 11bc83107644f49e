"""Cross-repository blob mounts against a real registry process: only from a named repository
that has the blob (and that the caller may read); anything else is a normal upload (202)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from _infra.registry_server import RegistryProcess, push_blob, sha256, start_registry
from dockyard.registry import can_read


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """One server process for the module: each test pushes its own blobs (distinct bytes) and
    mounts into repositories no other test links anything into."""
    with start_registry(tmp_path_factory.mktemp("served")) as server:
        yield server


def _mount(server: RegistryProcess, target: str, digest: str, **params: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v2/{target}/blobs/uploads/", params={"mount": digest, **params}, timeout=30
    )


def test_mount_without_from_is_a_normal_upload(registry_server: RegistryProcess) -> None:
    """registry:2 answers a mount without ``from`` with a new upload session; linking any
    blob the registry holds would tell a client what other repositories contain."""
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        data = b"a layer only the private repository has"
        digest = push_blob(client, "private/app", data)
        r = _mount(registry_server, "mine/app", digest)
        assert r.status_code == 202, r.text
        assert r.headers["location"].startswith("/v2/mine/app/blobs/uploads/")
        assert r.headers["range"] == "0-0"
        # nothing was linked: the target repository still cannot serve the blob
        assert client.head(f"/v2/mine/app/blobs/{digest}").status_code == 404
        # and the session it got is a real one: the blob can be uploaded through it
        location = httpx.URL(r.headers["location"]).copy_merge_params({"digest": digest})
        assert client.put(str(location), content=data).status_code == 201
        assert client.get(f"/v2/mine/app/blobs/{digest}").content == data


def test_mount_from_a_repository_with_the_blob(registry_server: RegistryProcess) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        data = b"shared base layer"
        digest = push_blob(client, "base/image", data)
        r = _mount(registry_server, "team/app", digest, **{"from": "base/image"})
        assert r.status_code == 201, r.text
        assert r.headers["location"] == f"/v2/team/app/blobs/{digest}"
        assert r.headers["docker-content-digest"] == digest
        assert client.get(f"/v2/team/app/blobs/{digest}").content == data


def test_mount_from_a_repository_without_the_blob(registry_server: RegistryProcess) -> None:
    """The blob exists in the registry, but not in ``from``: no link, a normal upload."""
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "holder", b"held elsewhere")
        push_blob(client, "decoy", b"something else")
        for source in ("decoy", "never/pushed"):
            r = _mount(registry_server, "target", digest, **{"from": source})
            assert r.status_code == 202, (source, r.text)
            assert "/v2/target/blobs/uploads/" in r.headers["location"]
        assert client.head(f"/v2/target/blobs/{digest}").status_code == 404
        r = _mount(registry_server, "target", sha256(b"nowhere"), **{"from": "holder"})
        assert r.status_code == 202


def test_mount_with_a_bad_from_is_refused(registry_server: RegistryProcess) -> None:
    digest = sha256(b"x")
    r = _mount(registry_server, "target", digest, **{"from": "../etc"})
    assert r.status_code == 400
    assert r.json()["errors"][0]["code"] == "NAME_INVALID"


def test_read_permission_is_one_function() -> None:
    """Today every caller the registry let in may read every repository; the RBAC layer
    replaces this function (mounts already ask it)."""
    assert can_read("alice", "any/repository")
    assert can_read(None, "any/repository")  # a registry without authentication
