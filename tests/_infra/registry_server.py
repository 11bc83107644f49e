"""dockyard's registry under test: a synchronous in-process client, pushes, a server process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from sqlalchemy import update

from _infra import backend
from _infra._cli import dockyard_executable
from _infra._registry import free_port
from dockyard.digest import Digest
from dockyard.registry import Registry
from dockyard.registry.metadata._schema import blobs, manifests, repo_blobs
from dockyard.registry.storage import StorageDriver, blob_key

__all__ = [
    "OCI_CONFIG",
    "OCI_INDEX",
    "OCI_LAYER",
    "OCI_MANIFEST",
    "ASGIClient",
    "PushedImage",
    "RegistryProcess",
    "backdate",
    "descriptor",
    "error_code",
    "free_port",
    "make_manifest",
    "push_blob",
    "push_image",
    "sha256",
    "sha512",
    "start_registry",
    "wait_ready",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


class ASGIClient:
    """httpx over ASGITransport, driven synchronously (one event loop per client)."""

    def __init__(self, app: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://registry.test"
        )

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def head(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("HEAD", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()

    def __enter__(self) -> ASGIClient:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def error_code(response: httpx.Response) -> str:
    """The first OCI error code of an error response."""
    return str(response.json()["errors"][0]["code"])


def push_blob(client: Any, name: str, data: bytes) -> str:
    """Monolithic POST → PUT; the digest."""
    digest = sha256(data)
    r = client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 202, r.text
    location = httpx.URL(r.headers["location"]).copy_merge_params({"digest": digest})
    r = client.put(str(location), content=data)
    assert r.status_code == 201, r.text
    return digest


def descriptor(data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class PushedImage:
    manifest: bytes
    digest: str
    config: bytes
    layers: list[bytes]


def make_manifest(config: bytes, layers: list[bytes], **fields: Any) -> bytes:
    obj: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, OCI_CONFIG),
        "layers": [descriptor(layer, OCI_LAYER) for layer in layers],
        **fields,
    }
    return json.dumps(obj).encode()


def push_image(
    client: Any, name: str, tag: str | None = "latest", *, seed: str = "x", **fields: Any
) -> PushedImage:
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layers = [f"layer-{seed}-{i}".encode() * 100 for i in range(2)]
    for blob in (config, *layers):
        push_blob(client, name, blob)
    manifest = make_manifest(config, layers, **fields)
    digest = sha256(manifest)
    r = client.put(
        f"/v2/{name}/manifests/{tag or digest}",
        content=manifest,
        headers={"content-type": OCI_MANIFEST},
    )
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    return PushedImage(manifest, digest, config, layers)


# --- a real server process ----------------------------------------------------------------


@dataclass
class RegistryProcess:
    """A running ``dockyard registry serve``; ``host`` is ``127.0.0.1:<port>``."""

    process: subprocess.Popen[bytes]
    host: str
    root: Path
    log: Path
    scheme: str = "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"registry exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        with contextlib.suppress(httpx.HTTPError):
            # readiness only: a test's own client checks the certificate
            if httpx.get(f"{url}/v2/", timeout=1, verify=False).status_code in (200, 401):
                return
        time.sleep(0.05)
    raise RuntimeError(f"registry at {url} did not answer within {timeout}s:\n{log.read_text()}")


@contextlib.contextmanager
def start_registry(
    root: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    scheme: str = "http",
    ready_timeout: float = 60,
) -> Iterator[RegistryProcess]:
    """Start ``dockyard registry serve --root ROOT --addr 127.0.0.1:PORT ARGS`` and wait for
    /v2/ to answer (``scheme`` "https" when the env configures TLS); stopped (SIGTERM, then
    SIGKILL) on exit."""
    root.mkdir(parents=True, exist_ok=True)
    # DOCKYARD_TEST_BACKEND=cluster: on PostgreSQL, S3 and Redis (unless env chooses its own)
    full_env = {**os.environ, **backend.serve_env(root, env or {}), **(env or {})}
    for attempt in range(3):
        chosen = port or free_port()
        host = f"127.0.0.1:{chosen}"
        log = root.parent / f"registry-{chosen}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [dockyard_executable(), "registry", "serve", "--root", str(root),
                 "--addr", host, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=full_env,
            )  # fmt: skip
        server = RegistryProcess(process, host, root, log, scheme)
        try:
            wait_ready(server.url, process, log, ready_timeout)
            break
        except RuntimeError:
            server.stop()
            # the free port was taken between choosing and binding it: choose another
            taken = "address already in use" in log.read_text(errors="replace")
            if port is not None or not taken or attempt == 2:
                raise
    try:
        yield server
    finally:
        server.stop()


def backdate(registry: Registry) -> None:
    """Make everything look a day old (records; and files, where blobs are files: an object
    store keeps its own times)."""
    with registry.meta.db.write() as conn:
        for table in (blobs, repo_blobs, manifests):
            conn.execute(update(table).values(created_at=0.0))
    for key in registry.storage.list("blobs"):
        path = registry.storage.local_path(key)
        if path is not None:
            os.utime(path, (0, 0))


def blob_path(root: Path, digest: str) -> Path:
    """Where the filesystem driver keeps blob ``digest`` under the registry's ``root``."""
    hex_ = digest.split(":", 1)[1]
    return root / "blobs" / "sha256" / hex_[:2] / hex_


def flip_a_byte(path: Path) -> None:
    """Flip one byte in the middle, keeping the size (bit rot, a bad disk, a hostile edit)."""
    with open(path, "r+b") as f:
        f.seek(path.stat().st_size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))


def flip_a_blob_byte(storage: StorageDriver, digest: str) -> None:
    """:func:`flip_a_byte` through a storage driver (any backend): blob ``digest`` rewritten
    whole with its middle byte flipped, replacing the stored one at once."""
    key = blob_key(Digest.parse(digest))
    with storage.reader(key) as f:
        data = bytearray(f.read())
    data[len(data) // 2] ^= 0xFF
    writer = storage.writer(key + ".flipped")
    try:
        writer.write(data)
        writer.commit()
    finally:
        writer.close()
    storage.move(key + ".flipped", key)


class AuthedClient:
    """A client that sends the same credentials with every request (as push_image needs)."""

    def __init__(self, client: ASGIClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, url: str, **kw: object) -> httpx.Response:
        headers = {**self.headers, **dict(kw.pop("headers", None) or {})}  # type: ignore[call-overload]
        return self.client.request(method, url, headers=headers, **kw)

    def get(self, url: str, **kw: object) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: object) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: object) -> httpx.Response:
        return self.request("PUT", url, **kw)
