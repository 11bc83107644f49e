"""Blob bodies through a real server process: sent with sendfile (the zero-copy path), whole
and in ranges, on a kept-alive connection, and a client leaving mid-body harms nothing."""

from __future__ import annotations

import os
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import RegistryProcess, push_blob, sha256, start_registry
from dockyard.registry.http._blobs import ZEROCOPY_MIN
from dockyard.registry.tls import write_self_signed

SIZE = 3 * (1 << 20) + 12345  # several sendfile calls, not a round number


@dataclass
class Served:
    server: RegistryProcess
    data: bytes
    digest: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("zerocopy")
    data = os.urandom(SIZE)
    with start_registry(root / "data", "--workers", "2") as server:
        with httpx.Client(base_url=server.url) as client:
            digest = push_blob(client, "big/blob", data)
        yield Served(server, data, digest)


@pytest.mark.slow
def test_whole_blob_and_ranges(served: Served) -> None:
    server, data, digest = served.server, served.data, served.digest
    assert SIZE > ZEROCOPY_MIN
    url = f"/v2/big/blob/blobs/{digest}"
    with httpx.Client(base_url=server.url) as client:  # one connection, kept alive throughout
        r = client.get(url)
        assert r.status_code == 200 and r.content == data
        assert r.headers["content-length"] == str(SIZE)
        assert r.headers["docker-content-digest"] == digest
        cases = {
            "bytes=0-": (0, SIZE - 1),
            f"bytes={ZEROCOPY_MIN}-{SIZE - 2}": (ZEROCOPY_MIN, SIZE - 2),
            f"bytes=-{SIZE - 7}": (7, SIZE - 1),
            f"bytes=100-{SIZE * 2}": (100, SIZE - 1),  # past the end: up to the end
            "bytes=5-20": (5, 20),  # short: the buffered path
        }
        for header, (start, end) in cases.items():
            r = client.get(url, headers={"range": header})
            assert r.status_code == 206, header
            assert r.content == data[start : end + 1], header
            assert r.headers["content-range"] == f"bytes {start}-{end}/{SIZE}"
        r = client.get(url, headers={"range": f"bytes={SIZE}-"})
        assert r.status_code == 416
        assert r.headers["content-range"] == f"bytes */{SIZE}"
        head = client.head(url)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(SIZE)
        assert client.get("/v2/").status_code == 200  # the connection still works
        assert sha256(client.get(url).content) == digest
        assert client.get("/v2/").status_code == 200


def test_client_leaving_mid_body(served: Served) -> None:
    server, data, digest = served.server, served.data, served.digest
    host, port = server.host.split(":")
    for _ in range(4):
        with socket.create_connection((host, int(port))) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET /v2/big/blob/blobs/{digest} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        # closed with a reset, most of the body unsent
    with httpx.Client(base_url=server.url) as client:
        assert client.get(f"/v2/big/blob/blobs/{digest}").content == data
    assert server.process.poll() is None
    assert "Traceback" not in server.log.read_text()


@pytest.mark.slow
def test_access_log_counts_sendfile_bytes(served: Served) -> None:
    server, digest = served.server, served.digest
    with httpx.Client(base_url=server.url) as client:
        client.get(f"/v2/big/blob/blobs/{digest}", headers={"x-request-id": "zc-bytes"})
    deadline = time.monotonic() + 10
    lines: list[str] = []
    while not lines and time.monotonic() < deadline:
        time.sleep(0.1)
        lines = [x for x in server.log.read_text().splitlines() if x.endswith(" zc-bytes")]
    assert lines and f" 200 {SIZE} " in lines[0], lines


@pytest.mark.slow
def test_tls_serves_blobs_through_tls(tmp_path: Path) -> None:
    cert, key = tmp_path / "domain.crt", tmp_path / "domain.key"
    write_self_signed(cert, key, ["127.0.0.1"])
    data = os.urandom(ZEROCOPY_MIN * 3 + 1)
    env = {"REGISTRY_HTTP_TLS_CERTIFICATE": str(cert), "REGISTRY_HTTP_TLS_KEY": str(key)}
    with (
        start_registry(tmp_path / "data", env=env, scheme="https") as server,
        httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=cert)) as client,
    ):
        digest = push_blob(client, "tls/blob", data)
        r = client.get(f"/v2/tls/blob/blobs/{digest}")
        assert r.status_code == 200 and r.content == data
        r = client.get(f"/v2/tls/blob/blobs/{digest}", headers={"range": "bytes=10-"})
        assert r.status_code == 206 and r.content == data[10:]
