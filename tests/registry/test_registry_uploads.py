"""Blob uploads: monolithic, single request, chunked, status, cancel, mount, restarts."""

from __future__ import annotations

from pathlib import Path

from _infra import backend
from _infra.registry_server import ASGIClient, error_code, push_blob, sha256, sha512
from dockyard.registry import Registry, RegistryApp
from dockyard.registry.storage import upload_data_key


def _start(client: ASGIClient, name: str = "app") -> str:
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    assert r.headers["range"] == "0-0"
    assert r.headers["docker-upload-uuid"] in r.headers["location"]
    assert r.headers["location"].startswith(f"/v2/{name}/blobs/uploads/")
    return r.headers["location"]


def test_monolithic_post_then_put(client: ASGIClient) -> None:
    data = b"hello blob"
    location = _start(client)
    r = client.put(location, params={"digest": sha256(data)}, content=data)
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/app/blobs/{sha256(data)}"
    assert r.headers["docker-content-digest"] == sha256(data)
    assert client.get(f"/v2/app/blobs/{sha256(data)}").content == data
    r = client.get(location)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


def test_single_request_post_with_digest(client: ASGIClient) -> None:
    data = b"one shot"
    r = client.post("/v2/app/blobs/uploads/", params={"digest": sha256(data)}, content=data)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v2/app/blobs/{sha256(data)}"
    assert client.get(f"/v2/app/blobs/{sha256(data)}").content == data
    r = client.post("/v2/app/blobs/uploads/", params={"digest": sha256(b"x")}, content=b"y")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert client.head(f"/v2/app/blobs/{sha256(b'x')}").status_code == 404


def test_empty_blob(client: ASGIClient) -> None:
    digest = push_blob(client, "app", b"")
    r = client.get(f"/v2/app/blobs/{digest}")
    assert r.status_code == 200 and r.content == b"" and r.headers["content-length"] == "0"


def test_chunked_upload(client: ASGIClient) -> None:
    data = bytes(range(256)) * 100
    chunks = [data[:1000], data[1000:20000], data[20000:]]
    location = _start(client)
    offset = 0
    for chunk in chunks:
        end = offset + len(chunk) - 1
        r = client.patch(
            location,
            content=chunk,
            headers={
                "content-range": f"{offset}-{end}",
                "content-type": "application/octet-stream",
            },
        )
        assert r.status_code == 202, r.text
        assert r.headers["range"] == f"0-{end}"
        location = r.headers["location"]
        offset = end + 1
        status = client.get(location)
        assert status.status_code == 204 and status.headers["range"] == f"0-{end}"
    r = client.put(location, params={"digest": sha256(data)})
    assert r.status_code == 201, r.text
    assert client.get(f"/v2/app/blobs/{sha256(data)}").content == data


def test_chunked_without_content_range_and_final_chunk_in_put(client: ASGIClient) -> None:
    data = b"a" * 5000 + b"b" * 5000
    location = _start(client)
    assert client.patch(location, content=data[:5000]).status_code == 202
    r = client.put(
        location,
        params={"digest": sha256(data)},
        content=data[5000:],
        headers={"content-range": "5000-9999"},
    )
    assert r.status_code == 201, r.text
    assert client.get(f"/v2/app/blobs/{sha256(data)}").content == data


def test_out_of_order_chunk_is_416(client: ASGIClient) -> None:
    location = _start(client)
    assert (
        client.patch(location, content=b"x" * 10, headers={"content-range": "0-9"}).status_code
        == 202
    )
    r = client.patch(location, content=b"y" * 10, headers={"content-range": "20-29"})
    assert r.status_code == 416 and error_code(r) == "BLOB_UPLOAD_INVALID"
    r = client.patch(location, content=b"y" * 10, headers={"content-range": "0-9"})
    assert r.status_code == 416
    r = client.patch(location, content=b"y" * 5, headers={"content-range": "10-19"})
    assert r.status_code == 416  # the range says 10 bytes, the body has 5
    assert client.get(location).headers["range"] == "0-9"
    r = client.patch(location, content=b"y" * 10, headers={"content-range": "10-19"})
    assert r.status_code == 202 and r.headers["range"] == "0-19"


def test_digest_mismatch_discards_upload(client: ASGIClient, registry: Registry) -> None:
    location = _start(client)
    r = client.put(location, params={"digest": sha256(b"other")}, content=b"content")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    assert client.get(location).status_code == 404
    assert not list(registry.storage.list("uploads"))
    assert client.head(f"/v2/app/blobs/{sha256(b'content')}").status_code == 404
    assert client.head(f"/v2/app/blobs/{sha256(b'other')}").status_code == 404


def test_put_without_digest(client: ASGIClient) -> None:
    location = _start(client)
    r = client.put(location, content=b"x")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    r = client.put(location, params={"digest": "md5:abc"}, content=b"x")
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


def test_sha512_upload(client: ASGIClient) -> None:
    data = b"sha512 content" * 1000
    location = _start(client)
    client.patch(location, content=data)
    r = client.put(location, params={"digest": sha512(data)})
    assert r.status_code == 201, r.text
    r = client.get(f"/v2/app/blobs/{sha512(data)}")
    assert r.content == data and r.headers["docker-content-digest"] == sha512(data)


def test_cancel_upload(client: ASGIClient, registry: Registry) -> None:
    location = _start(client)
    client.patch(location, content=b"partial")
    r = client.delete(location)
    assert r.status_code == 204
    r = client.get(location)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    assert client.delete(location).status_code == 404
    assert client.patch(location, content=b"x").status_code == 404
    assert not list(registry.storage.list("uploads"))


def test_upload_belongs_to_its_repository(client: ASGIClient) -> None:
    location = _start(client, "one")
    other = location.replace("/v2/one/", "/v2/two/")
    r = client.get(other)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


def test_bad_upload_ids(client: ASGIClient) -> None:
    for bad in ("nope", "0" * 32, "%2e%2e", "A" * 32):
        r = client.get(f"/v2/app/blobs/uploads/{bad}")
        assert r.status_code in (400, 404), bad
        assert error_code(r) in ("BLOB_UPLOAD_UNKNOWN", "NAME_INVALID"), bad


def test_cross_repository_mount(client: ASGIClient) -> None:
    data = b"shared layer"
    digest = push_blob(client, "source", data)
    r = client.post("/v2/target/blobs/uploads/", params={"mount": digest, "from": "source"})
    assert r.status_code == 201
    assert r.headers["location"] == f"/v2/target/blobs/{digest}"
    assert r.headers["docker-content-digest"] == digest
    assert client.get(f"/v2/target/blobs/{digest}").content == data


def test_mount_falls_back_to_upload(client: ASGIClient) -> None:
    digest = sha256(b"nowhere")
    r = client.post("/v2/target/blobs/uploads/", params={"mount": digest, "from": "source"})
    assert r.status_code == 202
    assert "/v2/target/blobs/uploads/" in r.headers["location"]
    data = b"elsewhere"
    push_blob(client, "a", data)
    r = client.post("/v2/target/blobs/uploads/", params={"mount": sha256(data), "from": "b"})
    assert r.status_code == 202  # b does not have it


def test_mount_without_from_starts_an_upload(client: ASGIClient) -> None:
    data = b"discover me"
    digest = push_blob(client, "somewhere/else", data)
    r = client.post("/v2/target/blobs/uploads/", params={"mount": digest})
    assert r.status_code == 202
    assert client.head(f"/v2/target/blobs/{digest}").status_code == 404


def test_one_copy_per_digest(client: ASGIClient, registry: Registry) -> None:
    data = b"same bytes" * 100
    for name in ("a", "b", "c/d"):
        push_blob(client, name, data)
    blobs = [k for k in registry.storage.list("blobs")]
    assert blobs == [f"blobs/sha256/{sha256(data)[7:9]}/{sha256(data)[7:]}"]


def test_upload_survives_restart(tmp_path: Path) -> None:
    """A session's acknowledged bytes survive a new process; unacknowledged ones are dropped."""
    root = tmp_path / "r"
    data = b"first half|" * 1000 + b"second half" * 1000
    half = 11000
    reg = backend.open_registry(root)
    with ASGIClient(RegistryApp(reg, threads=2)) as client:
        location = _start(client)
        assert client.patch(location, content=data[:half]).status_code == 202
    # written but never acknowledged: what a crash leaves behind
    writer = reg.storage.writer(upload_data_key(location.rsplit("/", 1)[1]), half)
    try:
        writer.write(b"garbage a crash left behind")
        writer.commit()
    finally:
        writer.close()
    reg.close()
    reg = backend.open_registry(root)
    with ASGIClient(RegistryApp(reg, threads=2)) as client:
        assert client.get(location).headers["range"] == f"0-{half - 1}"
        r = client.patch(
            location, content=data[half:], headers={"content-range": f"{half}-{len(data) - 1}"}
        )
        assert r.status_code == 202, r.text
        r = client.put(location, params={"digest": sha256(data)})
        assert r.status_code == 201, r.text
        assert client.get(f"/v2/app/blobs/{sha256(data)}").content == data
    reg.close()


def test_stale_uploads_are_purged(registry: Registry, client: ASGIClient) -> None:
    location = _start(client)
    client.patch(location, content=b"abc")
    assert registry.purge_uploads(3600) == 0
    assert registry.purge_uploads(-1) == 1
    assert client.get(location).status_code == 404
