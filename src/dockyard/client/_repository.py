"""One repository on a registry: manifests, tags, blobs — the distribution-spec API."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin

import urllib3

from dockyard.client._auth import pull_scope, push_scope
from dockyard.client._blob_reader import BlobReader
from dockyard.client._transport import Transport
from dockyard.digest import Digest, digest_of
from dockyard.errors import DigestInvalid, DockyardError, ManifestInvalid
from dockyard.oci import Descriptor, mediatypes
from dockyard.progress import NullProgress, Progress

__all__ = ["CHUNK_SIZE", "MONOLITHIC_MAX", "RemoteRepository"]

MANIFEST_ACCEPT = ", ".join(
    [
        mediatypes.OCI_INDEX,
        mediatypes.DOCKER_MANIFEST_LIST,
        mediatypes.OCI_MANIFEST,
        mediatypes.DOCKER_MANIFEST,
    ]
)
#: Blobs up to this size go up in one PUT; larger ones in PATCH chunks of CHUNK_SIZE.
MONOLITHIC_MAX = 32 << 20
CHUNK_SIZE = 64 << 20
_READ = 1 << 20
MAX_MANIFEST = 4 << 20

OpenStream = Callable[[], BinaryIO]


class RemoteRepository:
    """``where`` is the registry host (or a mirror URL); ``path`` the repository in it."""

    def __init__(self, transport: Transport, where: str, path: str, *, host: str | None = None):
        self.transport = transport
        self.where = where
        self.path = path
        self.host = host or where

    def __repr__(self) -> str:
        return f"RemoteRepository({self.host}/{self.path})"

    @property
    def name(self) -> str:
        return f"{self.host}/{self.path}"

    def _req(
        self,
        method: str,
        path: str,
        *,
        push: bool = False,
        scopes: list[str] | None = None,
        **kw: Any,
    ) -> urllib3.BaseHTTPResponse:
        wanted = scopes or [push_scope(self.path) if push else pull_scope(self.path)]
        return self.transport.request(self.where, method, path, scopes=wanted, **kw)

    # --- manifests -------------------------------------------------------------------------

    def get_manifest(self, reference: str) -> tuple[Descriptor, bytes]:
        """The manifest or index a tag or digest names, verified when named by digest."""
        what = f"get manifest {self.name}{_sep(reference)}{reference}"
        resp = self._req(
            "GET",
            f"/v2/{self.path}/manifests/{reference}",
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
        )
        raw = resp.data
        if len(raw) > MAX_MANIFEST:
            raise ManifestInvalid(f"{what}: the manifest is larger than {MAX_MANIFEST} bytes")
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        digest = digest_of(raw)
        if reference.startswith("sha") and ":" in reference:
            expected = Digest.parse(reference)
            if digest_of(raw, expected.algorithm) != expected:
                raise DigestInvalid(
                    f"{what}: the registry sent a manifest whose digest is "
                    f"{digest_of(raw, expected.algorithm)}, not {expected}"
                )
            digest = expected
        if not (mediatypes.is_manifest(media_type) or mediatypes.is_index(media_type)):
            media_type = _sniff_media_type(raw, what)
        return Descriptor(media_type=media_type, digest=digest, size=len(raw)), raw

    def head_manifest(self, reference: str) -> Descriptor | None:
        what = f"check manifest {self.name}{_sep(reference)}{reference}"
        resp = self._req(
            "HEAD",
            f"/v2/{self.path}/manifests/{reference}",
            what=what,
            headers={"Accept": MANIFEST_ACCEPT},
            ok=(200, 404),
        )
        if resp.status == 404:
            return None
        digest = resp.headers.get("Docker-Content-Digest")
        size = resp.headers.get("Content-Length")
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        if not digest or size is None:
            desc, _ = self.get_manifest(reference)
            return desc
        return Descriptor(media_type=media_type, digest=Digest.parse(digest), size=int(size))

    def put_manifest(self, reference: str, raw: bytes, media_type: str) -> Digest:
        what = f"push manifest {self.name}{_sep(reference)}{reference}"
        resp = self._req(
            "PUT",
            f"/v2/{self.path}/manifests/{reference}",
            push=True,
            what=what,
            headers={"Content-Type": media_type},
            body=raw,
            ok=(200, 201, 202),
        )
        got = resp.headers.get("Docker-Content-Digest")
        return Digest.parse(got) if got else digest_of(raw)

    def delete_manifest(self, reference: str) -> None:
        what = f"delete {self.name}{_sep(reference)}{reference}"
        self._req(
            "DELETE",
            f"/v2/{self.path}/manifests/{reference}",
            what=what,
            scopes=[f"repository:{self.path}:delete", push_scope(self.path)],
            ok=(200, 202),
        )

    def tags(self, page_size: int | None = None) -> Iterator[str]:
        """Every tag, following ``Link`` pages."""
        path = f"/v2/{self.path}/tags/list"
        if page_size:
            path += "?" + urlencode({"n": page_size})
        while path:
            resp = self._req("GET", path, what=f"list tags of {self.name}")
            doc = _json(resp.data, f"tag list of {self.name}")
            tags = doc.get("tags") or []
            yield from (str(t) for t in tags) if isinstance(tags, list) else ()
            path = _next_link(resp.headers.get("Link"))

    # --- blobs -------------------------------------------------------------------------------

    def blob_exists(self, digest: Digest, *, push: bool = False) -> bool:
        resp = self._req(
            "HEAD",
            f"/v2/{self.path}/blobs/{digest}",
            push=push,
            what=f"check blob {digest} in {self.name}",
            ok=(200, 404),
        )
        return resp.status == 200

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        where = self.name
        path = f"/v2/{self.path}/blobs/{descriptor.digest}"

        def opener(offset: int) -> urllib3.BaseHTTPResponse:
            headers = {"Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            return self._req(
                "GET",
                path,
                what=f"download blob {descriptor.digest} from {where}",
                headers=headers,
                stream=True,
                ok=(200, 206),
            )

        return io.BufferedReader(BlobReader(descriptor, opener, where), buffer_size=_READ)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        if mediatypes.is_manifest(descriptor.media_type) or mediatypes.is_index(
            descriptor.media_type
        ):
            # manifests live under /manifests/, not /blobs/ (get_manifest verifies the digest)
            return self.get_manifest(str(descriptor.digest))[1]
        with self.open_blob(descriptor) as stream:
            return stream.read()

    def mount_blob(self, digest: Digest, from_path: str) -> bool:
        """Ask the registry to link a blob from another repository; True if it did."""
        query = urlencode({"mount": str(digest), "from": from_path})
        resp = self._req(
            "POST",
            f"/v2/{self.path}/blobs/uploads/?{query}",
            push=True,
            scopes=[push_scope(self.path), pull_scope(from_path)],
            what=f"mount blob {digest} from {from_path} into {self.name}",
            ok=(201, 202),
        )
        if resp.status == 202:  # not mounted: cancel the upload session it opened
            location = resp.headers.get("Location")
            if location:
                with contextlib.suppress(DockyardError):
                    self._req(
                        "DELETE",
                        self._absolute(location),
                        push=True,
                        what="cancel upload",
                        ok=(200, 202, 204, 404),
                    )
            return False
        return True

    def upload_blob(
        self,
        descriptor: Descriptor,
        open_stream: OpenStream,
        progress: Progress | None = None,
        key: str | None = None,
    ) -> None:
        """Upload a blob: one PUT when small, PATCH chunks when large; the registry checks
        the digest when the upload completes."""
        progress = progress or NullProgress()
        key = key or str(descriptor.digest)
        what = f"upload blob {descriptor.digest} to {self.name}"
        resp = self._req(
            "POST",
            f"/v2/{self.path}/blobs/uploads/",
            push=True,
            what=what,
            ok=(202,),
            headers={"Content-Length": "0"},
        )
        location = self._location(resp, what)
        if descriptor.size <= MONOLITHIC_MAX:
            data = _read_all(open_stream, descriptor)
            self._req(
                "PUT",
                _with_query(location, {"digest": str(descriptor.digest)}),
                push=True,
                what=what,
                body=data,
                ok=(201, 204),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(len(data)),
                },
            )
            progress.advance(key, len(data))
            return
        with open_stream() as stream:
            offset = 0
            while offset < descriptor.size:
                length = min(CHUNK_SIZE, descriptor.size - offset)
                resp = self._req(
                    "PATCH",
                    location,
                    push=True,
                    what=what,
                    ok=(202,),
                    body=_chunk_body(stream, length, progress, key),
                    retry=False,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(length),
                        "Content-Range": f"{offset}-{offset + length - 1}",
                    },
                )
                location = self._location(resp, what)
                offset += length
            if stream.read(1):
                raise DigestInvalid(f"{what}: the blob is longer than its {descriptor.size} bytes")
        self._req(
            "PUT",
            _with_query(location, {"digest": str(descriptor.digest)}),
            push=True,
            what=what,
            ok=(201, 204),
            headers={"Content-Length": "0"},
        )

    def _location(self, resp: urllib3.BaseHTTPResponse, what: str) -> str:
        location = resp.headers.get("Location")
        if not location:
            raise DockyardError(f"{what}: the registry sent no upload Location")
        return self._absolute(location)

    def _absolute(self, location: str) -> str:
        if "://" in location:
            return location
        return urljoin(self.transport.endpoint(self.where).base + "/", location)


def _sep(reference: str) -> str:
    return "@" if ":" in reference else ":"


def _json(data: bytes, what: str) -> dict[str, object]:
    import json

    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise DockyardError(f"the {what} is not JSON") from exc
    if not isinstance(doc, dict):
        raise DockyardError(f"the {what} is not a JSON object")
    return doc


def _sniff_media_type(raw: bytes, what: str) -> str:
    doc = _json(raw, f"manifest ({what})")
    media_type = doc.get("mediaType")
    if isinstance(media_type, str) and media_type:
        return media_type
    if "manifests" in doc:
        return mediatypes.OCI_INDEX
    if "config" in doc:
        return mediatypes.OCI_MANIFEST
    raise ManifestInvalid(f"{what}: the registry sent something that is not a manifest")


def _next_link(header: str | None) -> str:
    if not header:
        return ""
    for part in header.split(","):
        url, _, params = part.partition(";")
        if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
            return url.strip().strip("<>")
    return ""


def _with_query(location: str, params: dict[str, str]) -> str:
    sep = "&" if "?" in location else "?"
    return location + sep + urlencode(params)


def _read_all(open_stream: OpenStream, descriptor: Descriptor) -> bytes:
    with open_stream() as stream:
        data = stream.read(descriptor.size + 1)
    if len(data) != descriptor.size:
        raise DigestInvalid(
            f"blob {descriptor.digest} has {len(data)} bytes, not the {descriptor.size} its "
            "descriptor declares"
        )
    return data


def _chunk_body(
    stream: BinaryIO, length: int, progress: Progress, key: str
) -> Callable[[], Iterator[bytes]]:
    def body() -> Iterator[bytes]:
        left = length
        while left:
            chunk = stream.read(min(_READ, left))
            if not chunk:
                raise DigestInvalid("the blob ended before its declared size")
            left -= len(chunk)
            progress.advance(key, len(chunk))
            yield chunk

    return body
