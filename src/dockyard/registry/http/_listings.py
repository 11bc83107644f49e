"""Tag lists, the catalog and the referrers API: sorted lists with n/last pagination."""

from __future__ import annotations

import bisect
import json
from urllib.parse import quote

from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.registry._names import parse_digest
from dockyard.registry._registry import Registry
from dockyard.registry.http._io import Request, send_bytes

__all__ = ["catalog", "referrers", "tags_list"]

_JSON = b"application/json"
#: The largest page a client may ask for.
MAX_PAGE = 10_000


def _page_size(request: Request) -> int | None:
    text = request.query("n")
    if text is None or text == "":
        return None
    if not text.isdigit():
        raise InvalidArgument(f"invalid n={text!r}: n is the number of entries, 0 or more")
    return min(int(text), MAX_PAGE)


def _link(path: str, n: int, last: str) -> tuple[bytes, bytes]:
    return (b"link", f'<{path}?n={n}&last={quote(last, safe="")}>; rel="next"'.encode())


async def tags_list(request: Request, registry: Registry, name: str) -> None:
    n = _page_size(request)
    last = request.query("last")
    names = registry.cached_tags(name)
    if names is None:
        names = await request.run(registry.tags, name)
    start = bisect.bisect_right(names, last) if last else 0
    page = names[start:] if n is None else names[start : start + n]
    headers = []
    if n and start + n < len(names):
        headers.append(_link(f"/v2/{name}/tags/list", n, page[-1]))
    body = json.dumps({"name": name, "tags": page}, separators=(",", ":")).encode()
    await send_bytes(
        request.send, 200, body, headers, content_type=_JSON, head=request.method == "HEAD"
    )


async def catalog(request: Request, registry: Registry) -> None:
    n = _page_size(request)
    last = request.query("last")
    if n == 0:
        names: list[str] = []
        more = False
    else:
        names = await request.run(registry.catalog, None if n is None else n + 1, last or None)
        more = n is not None and len(names) > n
        names = names[:n] if n is not None else names
    headers = [_link("/v2/_catalog", n, names[-1])] if more and n else []
    body = json.dumps({"repositories": names}, separators=(",", ":")).encode()
    await send_bytes(request.send, 200, body, headers, content_type=_JSON)


async def referrers(request: Request, registry: Registry, name: str, digest_text: str) -> None:
    digest = parse_digest(digest_text)
    artifact_type = request.query("artifactType") or None
    body = await request.run(registry.referrers, name, digest, artifact_type)
    headers = [(b"oci-filters-applied", b"artifactType")] if artifact_type else []
    await send_bytes(request.send, 200, body, headers, content_type=mediatypes.OCI_INDEX.encode())
