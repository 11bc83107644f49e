"""Faults with a real server process: kill -9 in the middle of uploads, then restart."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from _infra.registry_server import OCI_MANIFEST, make_manifest, sha256, start_registry


def _partial_request(
    host: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> socket.socket:
    """Send a request whose body is cut short: ``body`` is only part of Content-Length."""
    address, port = host.rsplit(":", 1)
    sock = socket.create_connection((address, int(port)))
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode() + body)
    return sock


def _wait_for_bytes(data_file: Path, at_least: int, timeout: float = 10) -> None:
    """Until the server has written ``at_least`` bytes of the unacknowledged chunk to disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if data_file.exists() and data_file.stat().st_size >= at_least:
            return
        time.sleep(0.02)
    raise AssertionError(f"the server never wrote {at_least} bytes to {data_file}")


def _location(response: httpx.Response, host: str) -> str:
    location = response.headers["location"]
    return location if location.startswith("http") else f"http://{host}{location}"


@pytest.mark.slow
@pytest.mark.filesystem_only  # waits for the upload's file to grow
def test_kill_9_during_chunked_upload_then_resume(tmp_path: Path) -> None:
    root = tmp_path / "data"
    blob = os.urandom(5 << 20)
    digest = sha256(blob)
    first, second = blob[: 2 << 20], blob[2 << 20 :]
    with start_registry(root) as server:
        r = httpx.post(f"{server.url}/v2/app/blobs/uploads/")
        assert r.status_code == 202
        location = _location(r, server.host)
        upload_id = location.rsplit("/", 1)[1]
        r = httpx.patch(
            location,
            content=first,
            headers={
                "content-range": f"0-{len(first) - 1}",
                "content-type": "application/octet-stream",
            },
        )
        assert r.status_code == 202 and r.headers["range"] == f"0-{len(first) - 1}"
        # the second chunk: 2 of its 3 MiB arrive, then the server is killed
        sock = _partial_request(
            server.host,
            "PATCH",
            httpx.URL(location).raw_path.decode(),
            {
                "Content-Type": "application/octet-stream",
                "Content-Length": str(len(second)),
                "Content-Range": f"{len(first)}-{len(blob) - 1}",
            },
            second[: 2 << 20],
        )
        data_file = root / "uploads" / upload_id / "data"
        _wait_for_bytes(data_file, len(first) + (1 << 20))
        server.stop(signal.SIGKILL)
        sock.close()
        assert server.process.returncode == -signal.SIGKILL
    assert data_file.stat().st_size > len(first)  # unacknowledged bytes are on disk …
    with start_registry(root) as server:  # … and the registry starts cleanly over them
        url = f"{server.url}/v2/app/blobs/uploads/{upload_id}"
        status = httpx.get(url)
        assert status.status_code == 204
        assert status.headers["range"] == f"0-{len(first) - 1}"  # only what was acknowledged
        blob_url = f"{server.url}/v2/app/blobs/{digest}"
        assert httpx.head(blob_url).status_code == 404  # nothing partial is visible
        # a chunk that does not start at the reported offset is refused
        r = httpx.patch(
            url, content=second[:10], headers={"content-range": f"{len(blob) - 10}-{len(blob) - 1}"}
        )
        assert r.status_code == 416
        # resume from the reported offset
        offset = int(status.headers["range"].split("-")[1]) + 1
        rest = blob[offset:]
        r = httpx.patch(url, content=rest, headers={"content-range": f"{offset}-{len(blob) - 1}"})
        assert r.status_code == 202 and r.headers["range"] == f"0-{len(blob) - 1}"
        r = httpx.put(f"{url}?digest={digest}")
        assert r.status_code == 201, r.text
        got = httpx.get(blob_url)
        assert got.status_code == 200 and got.content == blob


@pytest.mark.slow
@pytest.mark.filesystem_only  # waits for the upload's file to grow
def test_kill_9_during_monolithic_put_then_restart_the_upload(tmp_path: Path) -> None:
    """A blob whose upload died mid-body is never served; a new upload of it succeeds, and a
    manifest can only be pushed once it has."""
    root = tmp_path / "data"
    layer, config = os.urandom(3 << 20), b'{"architecture":"amd64","os":"linux"}'
    digest = sha256(layer)
    with start_registry(root) as server:
        r = httpx.post(f"{server.url}/v2/app/blobs/uploads/")
        location = httpx.URL(_location(r, server.host))
        upload_id = location.path.rsplit("/", 1)[1]
        target = location.copy_merge_params({"digest": digest})
        sock = _partial_request(
            server.host,
            "PUT",
            target.raw_path.decode(),
            {"Content-Type": "application/octet-stream", "Content-Length": str(len(layer))},
            layer[: 2 << 20],
        )
        _wait_for_bytes(root / "uploads" / upload_id / "data", 1 << 20)
        server.stop(signal.SIGKILL)
        sock.close()
    with start_registry(root) as server:
        assert httpx.head(f"{server.url}/v2/app/blobs/{digest}").status_code == 404
        assert not list((root / "blobs").rglob(digest[7:]))
        manifest = make_manifest(config, [layer])
        put: dict[str, Any] = {"content": manifest, "headers": {"content-type": OCI_MANIFEST}}
        r = httpx.put(f"{server.url}/v2/app/manifests/v1", **put)
        assert r.status_code == 400 and "MANIFEST_BLOB_UNKNOWN" in r.text
        # the session still exists at offset 0; start over with a fresh upload instead
        r = httpx.get(f"{server.url}/v2/app/blobs/uploads/{upload_id}")
        assert r.status_code == 204 and r.headers["range"] == "0-0"
        for data in (layer, config):
            r = httpx.post(
                f"{server.url}/v2/app/blobs/uploads/?digest={sha256(data)}", content=data
            )
            assert r.status_code == 201, r.text
        assert httpx.put(f"{server.url}/v2/app/manifests/v1", **put).status_code == 201
        assert httpx.get(f"{server.url}/v2/app/blobs/{digest}").content == layer
