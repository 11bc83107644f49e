"""A blob upload's closing PUT sent again after the process that answered it died between
publishing the blob and closing the session (a load balancer resends a request whose
connection broke, as haproxy's ``retry-on empty-response`` does): the second PUT succeeds,
and an upload that really lost its bytes is still refused."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import backend
from _infra.registry_server import ASGIClient, error_code, sha256
from dockyard.digest import Digest
from dockyard.registry import Registry, RegistryApp
from dockyard.registry.storage._layout import blob_key, upload_data_key


@pytest.fixture
def other(registry: Registry, tmp_path: Path) -> Iterator[ASGIClient]:
    """A second registry process's app on the same data (another replica: none of the first
    one's in-memory upload state)."""
    second = backend.open_registry(tmp_path / "registry")
    try:
        with ASGIClient(RegistryApp(second, threads=2)) as c:
            yield c
    finally:
        second.close()


def _upload(client: ASGIClient, name: str, data: bytes) -> tuple[str, str]:
    """POST and one PATCH; (the session's location, its id)."""
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    r = client.patch(r.headers["location"], content=data,
                     headers={"content-type": "application/octet-stream"})  # fmt: skip
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    return location, location.rsplit("/", 1)[1].split("?")[0]


def _put(client: ASGIClient, location: str, digest: str) -> httpx.Response:
    return client.put(str(httpx.URL(location).copy_merge_params({"digest": digest})))


def test_a_put_sent_again_after_a_crash_mid_publish_succeeds(
    client: ASGIClient, registry: Registry, other: ASGIClient
) -> None:
    data = os.urandom(70_000)
    digest = sha256(data)
    location, upload_id = _upload(client, "team/app", data)
    # what the first PUT did before its process was killed: the record, then the bytes moved
    # into place; the session was never closed
    registry.meta.add_blob("team/app", digest, len(data))
    registry.storage.move(upload_data_key(upload_id), blob_key(Digest.parse(digest)))
    r = _put(other, location, digest)  # sent again, to another replica
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    assert sha256(other.get(f"/v2/team/app/blobs/{digest}").content) == digest
    # the session is closed now
    assert error_code(other.get(location)) == "BLOB_UPLOAD_UNKNOWN"


def test_an_upload_that_lost_its_bytes_is_still_refused(
    client: ASGIClient, registry: Registry, other: ASGIClient
) -> None:
    data = os.urandom(70_000)
    digest = sha256(data)
    location, upload_id = _upload(client, "team/app", data)
    registry.storage.delete(upload_data_key(upload_id))  # gone, and no blob published
    r = _put(other, location, digest)
    assert r.status_code == 400 and error_code(r) == "BLOB_UPLOAD_INVALID", r.text
    # a blob of that digest in another repository does not complete it either
    elsewhere = _upload(client, "other/app", data)[0]
    assert _put(client, elsewhere, digest).status_code == 201
    r = _put(other, location, digest)
    assert r.status_code == 400 and error_code(r) == "BLOB_UPLOAD_INVALID", r.text
