"""GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference> (a tag or a digest).

A PUT by digest may carry ``?tag=a&tag=b`` (the distribution spec's next release): every tag is
applied with the manifest, in one transaction, and named in an ``OCI-Tag`` response header.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from dockyard.errors import ManifestInvalid
from dockyard.registry._names import (
    is_digest,
    parse_lookup_reference,
    parse_reference,
    parse_tags,
)
from dockyard.registry._push_guard import PushGuard
from dockyard.registry._registry import Registry
from dockyard.registry.http._io import API_VERSION, MethodNotAllowed, Request, read_body, send_bytes
from dockyard.registry.metadata import ManifestRecord

__all__ = ["TooManyTags", "delete_manifest", "get_manifest", "put_manifest"]


class TooManyTags(ManifestInvalid):
    """More ``?tag=`` parameters than ``limits.tagsperput`` (the spec's 414 for the case)."""

    http_status = 414


def _tag_params(request: Request) -> list[str]:
    """Every ``tag`` query parameter, in order (an empty one too: it is an invalid tag)."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    return parse_qs(raw, keep_blank_values=True).get("tag", [])


def _headers(record: ManifestRecord) -> list[tuple[bytes, bytes]]:
    digest = record.digest.encode()
    return [
        API_VERSION,
        (b"content-type", record.media_type.encode()),
        (b"content-length", str(len(record.content)).encode()),
        (b"docker-content-digest", digest),
        (b"etag", b'"' + digest + b'"'),
    ]


async def get_manifest(request: Request, registry: Registry, name: str, reference: str) -> None:
    record = registry.cached_manifest(name, reference)
    if record is None:
        record = await request.run(registry.manifest, name, parse_lookup_reference(reference))
    policy = registry.pull_policy
    # Only a GET hands out the manifest; HEAD (digest, size, type) stays open, as in Harbor's
    # content trust, so that a signer (dockyard sign, cosign) can resolve what it signs.
    if policy is not None and request.method == "GET" and policy.applies(name):
        await request.run(policy.check, registry, name, reference, record)
    send = request.send
    if request.method == "GET" and request.header("if-none-match") == f'"{record.digest}"':
        headers = _headers(record)
        headers[2] = (b"content-length", b"0")
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _headers(record)})
    body = b"" if request.method == "HEAD" else record.content
    await send({"type": "http.response.body", "body": body})


async def put_manifest(
    request: Request,
    registry: Registry,
    name: str,
    reference: str,
    guard: PushGuard | None = None,
) -> None:
    reference = parse_reference(reference)
    # checked before the body is read: a request that cannot succeed costs no upload
    tags = parse_tags(reference, _tag_params(request))
    limit = request.limits.tags_per_put
    if len(tags) > limit:
        raise TooManyTags(
            f"{len(tags)} tags in one manifest PUT; at most {limit} are allowed "
            "(limits.tagsperput)",
            hint="push the rest in another PUT by the same digest",
        )
    body = await read_body(
        request, request.limits.manifest_bytes, "manifest", "limits.manifestbytes"
    )
    content_type = request.header("content-type")
    ticket = None
    if guard is not None:  # quota, immutable tags…: refused before anything is stored
        sets = tags if is_digest(reference) else (reference,)
        ticket = await request.run(guard.check_manifest, name, sets, body, content_type)
    pushed = await request.run(registry.put_manifest, name, reference, body, content_type, tags)
    if guard is not None:
        await request.run(guard.pushed_manifest, name, ticket)
    headers = [
        (b"location", f"/v2/{name}/manifests/{pushed.digest}".encode()),
        (b"docker-content-digest", pushed.digest.encode()),
    ]
    if pushed.subject is not None:
        headers.append((b"oci-subject", pushed.subject.encode()))
    headers += [(b"oci-tag", tag.encode()) for tag in tags]
    await send_bytes(request.send, 201, b"", headers)


async def delete_manifest(
    request: Request,
    registry: Registry,
    name: str,
    reference: str,
    guard: PushGuard | None = None,
) -> None:
    reference = parse_lookup_reference(reference)
    if not registry.delete_enabled:
        raise MethodNotAllowed("deleting is disabled on this registry (storage.delete.enabled)")
    if guard is not None:  # e.g. an immutable tag: refused before anything is deleted
        await request.run(guard.check_delete, name, reference)
    await request.run(registry.delete_manifest, name, reference)
    if guard is not None:
        await request.run(guard.deleted, name)
    await send_bytes(request.send, 202)
