"""Bad input on every endpoint: a spec error code and a 4xx, never a 500, never a file
outside the data directory touched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest

from _infra.registry_server import (
    OCI_MANIFEST,
    ASGIClient,
    error_code,
    push_blob,
    push_image,
    sha256,
)
from dockyard.registry import Registry, RegistryApp

SPEC_CODES = {
    "BLOB_UNKNOWN",
    "BLOB_UPLOAD_INVALID",
    "BLOB_UPLOAD_UNKNOWN",
    "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN",
    "MANIFEST_INVALID",
    "MANIFEST_UNKNOWN",
    "NAME_INVALID",
    "NAME_UNKNOWN",
    "SIZE_INVALID",
    "UNAUTHORIZED",
    "DENIED",
    "UNSUPPORTED",
    "TOOMANYREQUESTS",
}


def raw_request(
    app: RegistryApp, method: str, raw_path: bytes, body: bytes = b"", query: bytes = b""
) -> tuple[int, bytes]:
    """Call the ASGI app with a path no HTTP client library would send unnormalised."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": raw_path.decode("latin-1"),
        "raw_path": raw_path,
        "query_string": query,
        "headers": [(b"host", b"registry.test"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    messages: list[MutableMapping[str, Any]] = []
    sent = False

    async def receive() -> MutableMapping[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)

    asyncio.run(app(scope, receive, send))
    status = messages[0]["status"]
    return status, b"".join(m.get("body", b"") for m in messages[1:])


def _check_error(status: int, body: bytes, expected: set[int]) -> str:
    assert status in expected, (status, body)
    code = json.loads(body)["errors"][0]["code"]
    assert code in SPEC_CODES, code
    return str(code)


def _outside_files(tmp_path: Path) -> set[Path]:
    return {p for p in tmp_path.rglob("*") if "registry" not in p.parts}


@pytest.mark.parametrize(
    "path",
    [
        b"/v2/../../etc/passwd/manifests/latest",
        b"/v2/app/../../x/blobs/uploads/",
        b"/v2/app%2F..%2F..%2Fx/manifests/latest",
        b"/v2/app%2fother/tags/list",
        b"/v2/%2e%2e/blobs/sha256:" + b"0" * 64,
        b"/v2/App/manifests/latest",
        b"/v2/app//x/manifests/latest",
        b"/v2/-app/tags/list",
        b"/v2/app./tags/list",
        b"/v2/" + b"a" * 300 + b"/tags/list",
        b"/v2/a\x00b/tags/list",
    ],
)
def test_path_tricks_are_name_invalid(path: bytes, registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    before = _outside_files(tmp_path)
    app = RegistryApp(registry, threads=2)
    for method in ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"):
        status, body = raw_request(app, method, path, b"{}")
        if method == "HEAD":
            assert status == 400
            continue
        assert _check_error(status, body, {400}) == "NAME_INVALID"
    assert _outside_files(tmp_path) == before


@pytest.mark.parametrize(
    "path",
    [
        b"/v2/app/manifests/..",
        b"/v2/app/manifests/%2e%2e",
        b"/v2/app/manifests/a%2Fb",
        b"/v2/app/blobs/..%2F..%2Fregistry.db",
        b"/v2/app/blobs/sha256:..",
        b"/v2/app/blobs/uploads/..%2F..%2Fregistry.db",
        b"/v2/app/referrers/..",
    ],
)
def test_reference_tricks(path: bytes, registry: Registry, tmp_path: Path) -> None:
    client_app = RegistryApp(registry, threads=2)
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        status, body = raw_request(client_app, method, path, b"{}")
        _check_error(status, body, {400, 404, 405})
    # nothing a trick named was touched: the metadata still answers (and where it is an
    # SQLite file under the root, the file is still there)
    assert raw_request(client_app, "GET", b"/v2/_catalog", b"")[0] == 200
    if not registry.meta.db.is_postgresql:
        assert (tmp_path / "registry" / "registry.db").exists()


def test_bad_digests(client: ASGIClient) -> None:
    for bad in ("sha256:xyz", "sha256:" + "A" * 64, "md5:" + "0" * 32, "sha256", "sha512:abc"):
        for method, url in (
            ("GET", f"/v2/app/blobs/{bad}"),
            ("HEAD", f"/v2/app/blobs/{bad}"),
            ("DELETE", f"/v2/app/blobs/{bad}"),
            ("GET", f"/v2/app/referrers/{bad}"),
            ("POST", f"/v2/app/blobs/uploads/?mount={bad}"),
            ("POST", f"/v2/app/blobs/uploads/?digest={bad}"),
        ):
            r = client.request(method, url)
            assert r.status_code == 400, (method, url, r.status_code)
            if method != "HEAD":
                assert error_code(r) == "DIGEST_INVALID", (method, url)


def test_bad_tags(client: ASGIClient) -> None:
    for bad in ("-start", ".dot", "a" * 129, "sp ace"):
        r = client.get(f"/v2/app/manifests/{bad}")
        assert r.status_code in (400, 404), bad
        assert error_code(r) in SPEC_CODES


def test_unknown_things_are_404(client: ASGIClient) -> None:
    digest = sha256(b"nothing")
    cases = {
        f"/v2/app/manifests/{digest}": "MANIFEST_UNKNOWN",
        "/v2/app/manifests/latest": "MANIFEST_UNKNOWN",
        f"/v2/app/blobs/{digest}": "BLOB_UNKNOWN",
        "/v2/app/tags/list": "NAME_UNKNOWN",
        "/v2/app/blobs/uploads/" + "0" * 32: "BLOB_UPLOAD_UNKNOWN",
        "/v2/app/nothing": "UNSUPPORTED",
    }
    for url, code in cases.items():
        r = client.get(url)
        assert r.status_code == 404, url
        assert error_code(r) == code, url


def test_methods_not_allowed(client: ASGIClient) -> None:
    digest = sha256(b"x")
    for method, url in (
        ("POST", "/v2/app/manifests/latest"),
        ("PATCH", f"/v2/app/blobs/{digest}"),
        ("PUT", f"/v2/app/blobs/{digest}"),
        ("DELETE", "/v2/app/tags/list"),
        ("GET", "/v2/app/blobs/uploads/"),
    ):
        r = client.request(method, url)
        assert r.status_code == 405, (method, url)
        assert error_code(r) == "UNSUPPORTED"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"schemaVersion": 1}',
        b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}',
        b'{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:x", "size": 1},'
        b' "layers": []}',
        b'{"schemaVersion": 2, "config": {"mediaType": "a/b", "digest": "sha256:'
        + b"0" * 64
        + b'", "size": -1}, "layers": []}',
        b'{"schemaVersion": 2, "mediaType": "application/x-unknown", "layers": []}',
        b"\xff\xfe garbage",
        b'{"a":' * 10000 + b"1" + b"}" * 10000,
    ],
)
def test_malformed_manifests(client: ASGIClient, body: bytes) -> None:
    r = client.put("/v2/app/manifests/x", content=body, headers={"content-type": OCI_MANIFEST})
    assert r.status_code == 400, r.text
    assert error_code(r) == "MANIFEST_INVALID"


def test_unknown_manifest_media_type(client: ASGIClient) -> None:
    img = push_image(client, "app")
    for content_type in (
        "application/vnd.example.unknown+json",
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.oci.image.index.v1+json",  # says index, body is a manifest
    ):
        r = client.put(
            "/v2/app/manifests/y", content=img.manifest, headers={"content-type": content_type}
        )
        assert r.status_code == 400, content_type
        assert error_code(r) == "MANIFEST_INVALID"


def test_manifest_over_4_mib(client: ASGIClient) -> None:
    body = b'{"schemaVersion":2,"x":"' + b"a" * (4 * 1024 * 1024) + b'"}'
    r = client.put("/v2/app/manifests/big", content=body, headers={"content-type": OCI_MANIFEST})
    assert r.status_code == 413 and error_code(r) == "SIZE_INVALID"


def test_content_length_lies(client: ASGIClient) -> None:
    location = client.post("/v2/app/blobs/uploads/").headers["location"]
    r = client.patch(location, content=b"x", headers={"content-length": "abc"})
    assert r.status_code in (400, 416) and error_code(r) in SPEC_CODES
    r = client.patch(location, content=b"xyz", headers={"content-range": "9-0"})
    assert r.status_code == 416
    r = client.patch(location, content=b"xyz", headers={"content-range": "nonsense"})
    assert r.status_code == 416
    assert client.get(location).headers["range"] == "0-0"


def test_bad_mount_source_name(client: ASGIClient) -> None:
    digest = push_blob(client, "app", b"x")
    r = client.post(f"/v2/other/blobs/uploads/?mount={digest}&from=../app")
    assert r.status_code == 400 and error_code(r) == "NAME_INVALID"


def test_blob_file_missing_from_storage_is_blob_unknown(
    client: ASGIClient, registry: Registry
) -> None:
    digest = push_blob(client, "app", b"vanishing")
    for key in list(registry.storage.list("blobs")):
        registry.storage.delete(key)
    r = client.get(f"/v2/app/blobs/{digest}")
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
