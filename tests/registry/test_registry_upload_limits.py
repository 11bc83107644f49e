"""``limits.blobbytes``: the size of one blob upload, all its chunks together, through a real
``dockyard registry serve`` process. Over the limit: 413 SIZE_INVALID naming the key, the body
read no further, and the session keeps what it had acknowledged."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import start_registry

LIMIT = 1000


def _start(client: httpx.Client) -> str:
    r = client.post("/v2/app/blobs/uploads/")
    assert r.status_code == 202, r.text
    return r.headers["location"]


@pytest.mark.slow
def test_a_blob_over_the_limit_is_refused_and_the_session_keeps_its_bytes(
    tmp_path: Path,
) -> None:
    env = {"REGISTRY_LIMITS_BLOBBYTES": str(LIMIT)}
    with (
        start_registry(tmp_path / "data", env=env) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        location = _start(client)
        first = b"a" * 600
        r = client.patch(
            location, content=first, headers={"content-type": "application/octet-stream"}
        )
        assert r.status_code == 202, r.text
        location = r.headers["location"]
        # a declared length that would pass the limit: refused before the body is read
        r = client.patch(location, content=b"b" * 500)
        assert r.status_code == 413
        assert r.headers["connection"] == "close"
        error = r.json()["errors"][0]
        assert error["code"] == "SIZE_INVALID" and "limits.blobbytes" in error["message"]
        # a chunked body (no length): cut off once it passes the limit
        r = client.patch(location, content=iter([b"c" * 300, b"c" * 300]))
        assert r.status_code == 413
        # the session still has its acknowledged 600 bytes and finishes with them
        r = client.get(location)
        assert r.status_code == 204 and r.headers["range"] == "0-599"
        digest = "sha256:" + hashlib.sha256(first).hexdigest()
        r = client.put(location, params={"digest": digest})
        assert r.status_code == 201, r.text
        # a monolithic upload over the limit is refused too
        big = b"d" * (LIMIT + 1)
        r = client.post(
            "/v2/app/blobs/uploads/",
            params={"digest": "sha256:" + hashlib.sha256(big).hexdigest()},
            content=big,
            headers={"content-type": "application/octet-stream"},
        )
        assert r.status_code == 413
        # within the limit is fine
        ok = b"e" * LIMIT
        r = client.post(
            "/v2/app/blobs/uploads/",
            params={"digest": "sha256:" + hashlib.sha256(ok).hexdigest()},
            content=ok,
            headers={"content-type": "application/octet-stream"},
        )
        assert r.status_code == 201, r.text
