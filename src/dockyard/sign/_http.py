"""A thin OCI distribution adapter (plain HTTP calls) that speaks :class:`Repository`.

Anonymous access only, ``http://`` for loopback registries and ``https://`` otherwise. It
exists so signing works against any registry today; the full registry client (auth, retries,
mirrors) plugs into the same protocol.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message

from dockyard.digest import Digest, digest_of
from dockyard.errors import (
    BlobUnknown,
    Denied,
    DockyardError,
    InvalidArgument,
    ManifestUnknown,
    Unauthorized,
    Unavailable,
)
from dockyard.oci import Descriptor, Index
from dockyard.oci import mediatypes as mt
from dockyard.reference import Reference
from dockyard.sign._payload import docker_reference

__all__ = ["HttpRepository"]

_ACCEPT = ", ".join([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, mt.DOCKER_MANIFEST_LIST])
_TIMEOUT = 60.0


def _is_loopback(domain: str) -> bool:
    host = domain.rsplit(":", 1)[0] if not domain.endswith("]") else domain
    return host in ("localhost", "[::1]") or host.startswith("127.")


class HttpRepository:
    """One repository of a registry, e.g. ``HttpRepository(Reference.parse("127.0.0.1:5000/a"))``."""

    def __init__(self, ref: Reference, *, scheme: str | None = None) -> None:
        domain = "registry-1.docker.io" if ref.domain == "docker.io" else ref.domain
        self.scheme = scheme or ("http" if _is_loopback(domain) else "https")
        self.base = f"{self.scheme}://{domain}/v2/{ref.path}"
        self.ref = ref

    @property
    def name(self) -> str:
        return docker_reference(self.ref)

    def _request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        missing: type[DockyardError] = ManifestUnknown,
    ) -> tuple[int, bytes, Message]:
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                return response.status, response.read(), response.headers
        except urllib.error.HTTPError as e:
            body = e.read()
            message = _oci_message(body) or f"HTTP {e.code}"
            if e.code == 404:
                raise missing(f"{method} {url}: {message}") from None
            if e.code == 401:
                raise Unauthorized(
                    f"{method} {url}: {message}", hint="log in to the registry"
                ) from None
            if e.code == 403:
                raise Denied(f"{method} {url}: {message}") from None
            if e.code >= 500:
                raise Unavailable(f"{method} {url}: {message}") from None
            raise InvalidArgument(f"{method} {url}: {message}") from None
        except urllib.error.URLError as e:
            raise Unavailable(f"cannot reach {url}: {e.reason}") from None

    def resolve(self, reference: str) -> Descriptor:
        raw, media_type = self.get_manifest(reference)
        return Descriptor(media_type, digest_of(raw), len(raw))

    def get_manifest(self, reference: str) -> tuple[bytes, str]:
        _, body, headers = self._request(
            "GET", f"{self.base}/manifests/{reference}", headers={"Accept": _ACCEPT}
        )
        if Digest.is_valid(reference):
            Digest.parse(reference).verify(body)
        media_type = mt.base(headers.get("Content-Type", "") or "")
        if not (mt.is_manifest(media_type) or mt.is_index(media_type)):
            media_type = json.loads(body).get("mediaType") or mt.OCI_MANIFEST
        return body, media_type

    def put_manifest(self, raw: bytes, media_type: str, tag: str | None = None) -> bool:
        reference = tag or str(digest_of(raw))
        _, _, headers = self._request(
            "PUT",
            f"{self.base}/manifests/{reference}",
            data=raw,
            headers={"Content-Type": media_type},
        )
        return headers.get("OCI-Subject") is not None

    def get_blob(self, digest: Digest) -> bytes:
        _, body, _ = self._request("GET", f"{self.base}/blobs/{digest}", missing=BlobUnknown)
        digest.verify(body)
        return body

    def put_blob(self, data: bytes) -> Digest:
        digest = digest_of(data)
        try:
            self._request("HEAD", f"{self.base}/blobs/{digest}", missing=BlobUnknown)
            return digest
        except BlobUnknown:
            pass
        _, _, headers = self._request("POST", f"{self.base}/blobs/uploads/", data=b"")
        location = urllib.parse.urljoin(self.base, headers.get("Location", ""))
        sep = "&" if "?" in location else "?"
        self._request(
            "PUT",
            f"{location}{sep}digest={urllib.parse.quote(str(digest))}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def tags(self) -> list[str]:
        try:
            _, body, _ = self._request("GET", f"{self.base}/tags/list")
        except ManifestUnknown:
            return []
        tags = json.loads(body).get("tags") or []
        return sorted(t for t in tags if isinstance(t, str))

    def referrers(self, digest: Digest) -> list[Descriptor] | None:
        try:
            _status, body, headers = self._request("GET", f"{self.base}/referrers/{digest}")
        except ManifestUnknown:
            return None
        if mt.base(headers.get("Content-Type", "") or "") != mt.OCI_INDEX:
            return None
        return Index.parse(body, mt.OCI_INDEX).manifests


def _oci_message(body: bytes) -> str | None:
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or None
    except (ValueError, AttributeError):
        return None
