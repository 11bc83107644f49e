"""Registry clients for cluster tests, over plain HTTP with httpx: a pusher that retries as
docker does (a blob whose upload failed is uploaded again from its POST; a manifest PUT that
failed is sent again), a puller that verifies every digest, a pull loop that counts every
request while replicas come and go, and the replicas' access logs read back by request id.

Retried: a connection that failed (refused, reset, closed before the answer) and, for the
pusher only, a 5xx or an upload session lost with a replica (docker pushes the layer again).
Never retried: any other 4xx, or a body whose digest is wrong: those are failures, for the
test to report.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = [
    "ACCEPT",
    "Image",
    "PullLoop",
    "PushFailed",
    "Pusher",
    "access_entries",
    "make_image",
    "pull_and_verify",
    "sha256",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT = ", ".join(
    (
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Image:
    """An image to push: ``blobs`` (config first) and the manifest naming them."""

    name: str
    tag: str
    manifest: bytes
    blobs: tuple[bytes, ...]

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def make_image(name: str, tag: str, layer_sizes: Iterable[int]) -> Image:
    """An OCI image of random layers (unique content: every push uploads every byte)."""
    layers = [os.urandom(size) for size in layer_sizes]
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "seed": os.urandom(8).hex()}
    ).encode()

    def desc(data: bytes, media_type: str) -> dict[str, object]:
        return {"mediaType": media_type, "digest": sha256(data), "size": len(data)}

    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": desc(config, "application/vnd.oci.image.config.v1+json"),
            "layers": [desc(x, "application/vnd.oci.image.layer.v1.tar+gzip") for x in layers],
        }
    ).encode()
    return Image(name, tag, manifest, (config, *layers))


class PushFailed(AssertionError):
    """A push request failed in a way no client retries, or kept failing."""


class _Retry(Exception):
    """A failure the pusher retries: what it was."""


def _lost_upload(response: httpx.Response) -> bool:
    """An upload session that is gone (``BLOB_UPLOAD_UNKNOWN``), whose offset is not the
    client's (416), or that a PATCH finds busy: docker uploads that layer again. It happens when a request the balancer
    sent to a replica that then died is sent again to another: the first may have done its
    work (a PUT that finished the upload) with nobody to hear the answer."""
    if response.request.method not in ("PATCH", "PUT") or "/blobs/uploads/" not in str(
        response.request.url
    ):
        return False
    if response.status_code == 416:
        return True
    if response.request.method == "PATCH" and b"BLOB_UPLOAD_INVALID" in response.content:
        return True  # still locked by the dead replica's write ("receiving another request")
    return response.status_code == 404 and b"BLOB_UPLOAD_UNKNOWN" in response.content


@dataclass
class Pusher:
    """Pushes through ``url`` with its own connection pool; ``errors`` lists every failure it
    retried (thread-safe: one pusher may serve many threads). ``on_request`` is called after
    every request answered or failed (a test's trigger)."""

    url: str
    chunk: int = 128 * 1024
    attempts: int = 8
    on_request: Callable[[], None] | None = None
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=60)

    def close(self) -> None:
        self.client.close()

    def _send(self, method: str, url: str, **kw: object) -> httpx.Response:
        try:
            response = self.client.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            raise _Retry(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        finally:
            if self.on_request is not None:
                self.on_request()
        if response.status_code >= 500 or _lost_upload(response):
            raise _Retry(f"{method} {url}: {response.status_code} {response.text[:200]}")
        return response

    def _expect(self, response: httpx.Response, status: int) -> httpx.Response:
        if response.status_code != status:
            raise PushFailed(
                f"{response.request.method} {response.request.url}: "
                f"{response.status_code} (expected {status}): {response.text[:300]}"
            )
        return response

    def _retrying(self, what: str, attempt: Callable[[], None]) -> None:
        for number in range(1, self.attempts + 1):
            try:
                attempt()
                return
            except _Retry as exc:
                with self._lock:
                    self.errors.append(f"{what} (attempt {number}): {exc}")
                time.sleep(0.1 * number)
        raise PushFailed(f"{what}: still failing after {self.attempts} attempts")

    def push_blob(self, name: str, data: bytes, request_id: str | None = None) -> None:
        """POST, one PATCH per chunk, PUT ?digest=; ``request_id`` tags each request
        (``<id>-post``, ``<id>-patch-<n>``, ``<id>-put``) for :func:`access_entries`."""
        digest = sha256(data)

        def headers(step: str) -> dict[str, str]:
            return {"x-request-id": f"{request_id}-{step}"} if request_id else {}

        retried = False

        def attempt() -> None:
            nonlocal retried
            # as docker does before it uploads a layer again: is it there already?
            if retried and self._send("HEAD", f"/v2/{name}/blobs/{digest}").status_code == 200:
                return
            retried = True
            r = self._expect(self._send("POST", f"/v2/{name}/blobs/uploads/",
                                        headers=headers("post")), 202)  # fmt: skip
            location = r.headers["location"]
            for n, start in enumerate(range(0, len(data), self.chunk)):
                piece = data[start : start + self.chunk]
                r = self._send(
                    "PATCH",
                    location,
                    content=piece,
                    headers={
                        "content-type": "application/octet-stream",
                        "content-range": f"{start}-{start + len(piece) - 1}",
                        **headers(f"patch-{n}"),
                    },
                )
                location = self._expect(r, 202).headers["location"]
            url = httpx.URL(location).copy_merge_params({"digest": digest})
            r = self._send("PUT", str(url), headers=headers("put"))
            if self._expect(r, 201).headers.get("docker-content-digest") != digest:
                raise PushFailed(f"PUT {url}: the registry says {r.headers} for {digest}")

        self._retrying(f"blob {digest[:19]} of {name}", attempt)

    def push(self, image: Image) -> str:
        """Every blob, then the manifest; the digest the registry answered."""
        for blob in image.blobs:
            self.push_blob(image.name, blob)
        answered: list[str] = []

        def attempt() -> None:
            r = self._send("PUT", f"/v2/{image.name}/manifests/{image.tag}",
                           content=image.manifest, headers={"content-type": OCI_MANIFEST})  # fmt: skip
            answered.append(self._expect(r, 201).headers["docker-content-digest"])

        self._retrying(f"manifest {image.name}:{image.tag}", attempt)
        return answered[-1]


def pull_and_verify(client: httpx.Client, image: Image) -> None:
    """GET the manifest by tag and every blob: each body's digest must be the one pushed."""
    r = client.get(f"/v2/{image.name}/manifests/{image.tag}", headers={"accept": ACCEPT})
    assert r.status_code == 200, f"{image.name}:{image.tag}: {r.status_code} {r.text[:300]}"
    assert sha256(r.content) == image.digest, f"{image.name}:{image.tag}: wrong manifest"
    for blob in image.blobs:
        digest = sha256(blob)
        r = client.get(f"/v2/{image.name}/blobs/{digest}", follow_redirects=True)
        assert r.status_code == 200, f"{image.name}@{digest}: {r.status_code} {r.text[:300]}"
        assert sha256(r.content) == digest, f"{image.name}@{digest}: wrong bytes"


@dataclass
class PullLoop:
    """Threads pulling ``images`` through ``url`` until stopped, counting every request:
    ``outcomes`` counts ``ok``, ``connection-retried`` (a connection failure, retried as a
    client does) and ``failed``; ``failures`` says what failed (a non-200 or a wrong body)."""

    url: str
    images: list[Image]
    threads: int = 3
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _count(self, outcome: str, what: str | None = None) -> None:
        with self._lock:
            self.outcomes[outcome] += 1
            if what is not None:
                self.failures.append(what)

    def _get(self, client: httpx.Client, path: str, expected: str, **kw: object) -> None:
        while not self._stop.is_set():
            try:
                r = client.get(path, **kw)  # type: ignore[arg-type]
            except httpx.TransportError:
                self._count("connection-retried")  # and asked again, as a client does
                continue
            if r.status_code != 200:
                self._count("failed", f"GET {path}: {r.status_code} {r.text[:200]}")
            elif sha256(r.content) != expected:
                self._count("failed", f"GET {path}: wrong body")
            else:
                self._count("ok")
            return

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=True) as client:
            while not self._stop.is_set():
                for image in self.images:
                    self._get(client, f"/v2/{image.name}/manifests/{image.tag}", image.digest,
                              headers={"accept": ACCEPT})  # fmt: skip
                    for blob in image.blobs:
                        self._get(client, f"/v2/{image.name}/blobs/{sha256(blob)}", sha256(blob))

    def total(self) -> int:
        with self._lock:
            return sum(self.outcomes.values())

    def wait_for(self, more: int, timeout: float = 60) -> None:
        """Until ``more`` requests more than now were answered."""
        target = self.total() + more
        deadline = time.monotonic() + timeout
        while self.total() < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the pull loop is stuck at {self.total()} requests")
            time.sleep(0.02)

    def __enter__(self) -> PullLoop:
        for _ in range(self.threads):
            worker = threading.Thread(target=self._run, daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=60)


def access_entries(log: Path) -> list[dict[str, object]]:
    """The JSON access-log lines of a replica's log (``log.formatter: json``)."""
    found: list[dict[str, object]] = []
    with contextlib.suppress(FileNotFoundError):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"request_id"' in line:
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
    return found
