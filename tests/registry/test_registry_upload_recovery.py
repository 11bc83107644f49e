"""An upload whose PATCH dies mid-stream (the client goes away, or the server is killed) keeps
exactly its acknowledged bytes: the data file is trimmed back to the offset its status reports,
and the upload resumes from there to the right digest."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra.registry_server import RegistryProcess, sha256, start_registry

# every test watches the upload's data file grow and shrink on the disk
pytestmark = pytest.mark.filesystem_only


@pytest.fixture(scope="module")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """One server process for the module's client-side cuts: each test opens its own upload."""
    with start_registry(tmp_path_factory.mktemp("served")) as server:
        yield server


#: Declared size of the PATCH that never finishes, and how much of it is sent.
DECLARED = 64 << 20
SENT = 8 << 20


def _start(client: httpx.Client, name: str) -> str:
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    return str(r.headers["location"])


def _data_file(server: RegistryProcess, location: str) -> Path:
    return server.root / "uploads" / location.rsplit("/", 1)[1] / "data"


def _partial_patch(server: RegistryProcess, location: str, start: int) -> socket.socket:
    """Open a PATCH declaring DECLARED bytes, send SENT of them; the socket stays open."""
    host, port = server.host.split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"PATCH {location} HTTP/1.1\r\nHost: {server.host}\r\n"
        "Content-Type: application/octet-stream\r\n"
        f"Content-Range: {start}-{start + DECLARED - 1}\r\n"
        f"Content-Length: {DECLARED}\r\n\r\n"
    )
    sock.sendall(head.encode())
    block = b"\xab" * (1 << 20)
    for _ in range(SENT // len(block)):
        sock.sendall(block)
    return sock


def _wait_for_size(path: Path, predicate: str, size: int, seconds: float = 20.0) -> int:
    """Poll ``path``'s size until it is ``== size`` or ``> size``; the last size seen."""
    deadline = time.monotonic() + seconds
    seen = -1
    while time.monotonic() < deadline:
        seen = path.stat().st_size if path.exists() else -1
        if (predicate == "==" and seen == size) or (predicate == ">" and seen > size):
            break
        time.sleep(0.05)
    return seen


def _finish(client: httpx.Client, location: str, start: int, rest: bytes, whole: bytes) -> None:
    r = client.patch(
        location,
        content=rest,
        headers={"content-range": f"{start}-{start + len(rest) - 1}"},
    )
    assert r.status_code == 202, r.text
    r = client.put(r.headers["location"], params={"digest": sha256(whole)})
    assert r.status_code == 201, r.text
    name = location.split("/v2/", 1)[1].split("/blobs/", 1)[0]
    got = client.get(f"/v2/{name}/blobs/{sha256(whole)}")
    assert got.status_code == 200 and sha256(got.content) == sha256(whole)


def test_patch_killed_by_the_client_is_trimmed(registry_server: RegistryProcess) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=60) as client:
        location = _start(client, "app")
        data = _data_file(registry_server, location)
        sock = _partial_patch(registry_server, location, 0)
        # the server has written part of the chunk before the client goes away
        assert _wait_for_size(data, ">", 0) > 0
        sock.close()
        status = client.get(location)
        assert status.status_code == 204 and status.headers["range"] == "0-0"
        # the bytes nobody acknowledged are dropped (as soon as the server sees the close)
        assert _wait_for_size(data, "==", 0) == 0
        assert client.get(location).headers["range"] == "0-0"
        whole = b"resumed upload " * 5000
        _finish(client, location, 0, whole, whole)


def test_patch_killed_after_an_acknowledged_chunk(registry_server: RegistryProcess) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=60) as client:
        whole = bytes(range(256)) * 4000
        first = 1000
        location = _start(client, "team/app")
        r = client.patch(location, content=whole[:first], headers={"content-range": "0-999"})
        assert r.status_code == 202 and r.headers["range"] == "0-999"
        data = _data_file(registry_server, location)
        sock = _partial_patch(registry_server, location, first)
        assert _wait_for_size(data, ">", first) > first
        sock.close()
        assert _wait_for_size(data, "==", first) == first
        assert client.get(location).headers["range"] == f"0-{first - 1}"
        _finish(client, location, first, whole[first:], whole)


@pytest.mark.slow
def test_patch_cut_by_a_server_kill_is_trimmed_on_query(tmp_path: Path) -> None:
    """kill -9 of the server mid-PATCH: the next process trims the file when the session's
    status is asked, before any new chunk arrives."""
    root = tmp_path / "served"
    whole = b"0123456789" * 30000
    first = 4096
    with start_registry(root) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        location = _start(client, "app")
        r = client.patch(location, content=whole[:first], headers={"content-range": "0-4095"})
        assert r.status_code == 202, r.text
        data = _data_file(server, location)
        sock = _partial_patch(server, location, first)
        assert _wait_for_size(data, ">", first) > first
        server.stop(signal.SIGKILL)
        sock.close()
    assert data.stat().st_size > first  # what the killed process left behind
    with start_registry(root) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        status = client.get(location)
        assert status.status_code == 204 and status.headers["range"] == f"0-{first - 1}"
        assert data.stat().st_size == first
        _finish(client, location, first, whole[first:], whole)
