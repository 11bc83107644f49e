"""The registry an agent fronts: manifests, torrents and blob ranges with the agent's own
credentials (``dockyard.client``'s transport: token or Basic auth, retries)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import urllib3

from dockyard.client import ClientOptions, Credentials, Transport, registry_host
from dockyard.errors import InvalidArgument

__all__ = ["ManifestResponse", "Upstream"]

#: Bytes per read when forwarding a blob body.
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class ManifestResponse:
    status: int
    media_type: str
    digest: str
    body: bytes
    length: int


class Upstream:
    """``url`` is the registry's base URL (``https://registry.example:5000``)."""

    def __init__(
        self,
        url: str,
        credentials: Credentials | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvalidArgument(
                f"--registry {url!r} has no scheme", hint="use e.g. https://registry.example:5000"
            )
        self.url = url.rstrip("/")
        self.host = registry_host(self.url)
        self.transport = Transport(options)
        if credentials is not None:
            self.transport.set_credentials(self.host, credentials)

    @staticmethod
    def _scopes(name: str) -> list[str]:
        return [f"repository:{name}:pull"]

    def manifest(self, name: str, reference: str, accept: str, head: bool) -> ManifestResponse:
        resp = self.transport.request(
            self.url,
            "HEAD" if head else "GET",
            f"/v2/{name}/manifests/{reference}",
            scopes=self._scopes(name),
            what=f"get manifest {name}:{reference}",
            headers={"Accept": accept},
        )
        body = b"" if head else resp.data
        return ManifestResponse(
            resp.status,
            resp.headers.get("Content-Type", "application/octet-stream"),
            resp.headers.get("Docker-Content-Digest", ""),
            body,
            int(resp.headers.get("Content-Length", len(body))),
        )

    def blob_size(self, name: str, digest: str) -> int:
        resp = self.transport.request(
            self.url,
            "HEAD",
            f"/v2/{name}/blobs/{digest}",
            scopes=self._scopes(name),
            what=f"find blob {digest} in {name}",
        )
        return int(resp.headers.get("Content-Length", "0"))

    def torrent(self, name: str, digest: str) -> bytes:
        resp = self.transport.request(
            self.url,
            "GET",
            f"/v2/{name}/_dockyard/torrent/{digest}",
            scopes=self._scopes(name),
            what=f"get the torrent of blob {digest} in {name}",
        )
        return bytes(resp.data)

    def blob(
        self, name: str, digest: str, first: int | None = None, last: int | None = None
    ) -> tuple[int, int, Iterator[bytes]]:
        """``(status, length, chunks)`` of the blob or of bytes ``first..last`` (inclusive)."""
        headers = (
            {} if first is None else {"Range": f"bytes={first}-{'' if last is None else last}"}
        )
        resp = self.transport.request(
            self.url,
            "GET",
            f"/v2/{name}/blobs/{digest}",
            scopes=self._scopes(name),
            what=f"get blob {digest} of {name}",
            headers=headers,
            ok=(200, 206),
            stream=True,
        )
        return resp.status, int(resp.headers.get("Content-Length", "0")), _chunks(resp)


def _chunks(resp: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    """The body; the connection goes back to the pool when read to the end, else it is
    closed (a client that went away mid-body)."""
    whole = False
    try:
        while data := resp.read(CHUNK):
            yield data
        whole = True
    finally:
        if whole:
            resp.release_conn()
        else:
            resp.close()
            resp.release_conn()
