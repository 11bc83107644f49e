"""``GET /v2/<name>/_dockyard/torrent/<digest>``: a blob's BitTorrent v2 metainfo.

The route sits under the distribution spec's extension form, so it is authorised exactly as
``GET /v2/<name>/blobs/<digest>`` (the same ``pull`` scope on the same repository, in every
auth mode, projects mode's RBAC included): a torrent is only ever handed to a caller who may
pull the blob itself. The merkle tree (BEP 52) is computed once per digest from the storage
driver's stream (files and S3 alike) and kept under ``<root>/p2p/torrents/`` — content
addressed, so it never goes stale; the web seed (BEP 19) and trackers are added per request.
``p2p:`` in the config: ``trackers`` (announce URLs written into every torrent) and
``disabled`` (no torrents served). See ``docs/p2p.md``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.atomicfile import write_atomic
from dockyard.errors import InvalidArgument, NotFound
from dockyard.p2p.metainfo import BlobTorrent, hash_blob, read_chunks
from dockyard.registry._config_tree import BOOL, STRLIST, Section
from dockyard.registry._names import parse_digest
from dockyard.registry._registry import Registry
from dockyard.registry.http._app import ExtensionHandler
from dockyard.registry.http._io import MethodNotAllowed, Request, send_bytes

__all__ = [
    "P2P_SCHEMA",
    "TORRENT_MEDIA_TYPE",
    "P2PConfig",
    "TorrentRoute",
    "dockyard_extension",
    "p2p_from_section",
]

TORRENT_MEDIA_TYPE = "application/x-bittorrent"
#: Torrents kept in memory per process (each a few KiB: 32 bytes per piece).
MEMORY_ENTRIES = 512

P2P_SCHEMA = Section({"disabled": BOOL, "trackers": STRLIST}, strict=True)


@dataclass(frozen=True, slots=True)
class P2PConfig:
    """The ``p2p:`` section."""

    #: no torrent route at all
    disabled: bool = False
    #: tracker announce URLs written into every torrent (agents may add their own)
    trackers: tuple[str, ...] = ()


def p2p_from_section(section: Mapping[str, Any] | None) -> P2PConfig:
    if not section:
        return P2PConfig()
    trackers = tuple(section.get("trackers", ()))
    for url in trackers:
        if not url.startswith(("http://", "https://", "udp://")):
            raise InvalidArgument(
                f"p2p.trackers: {url!r} is not a tracker announce URL",
                hint="use e.g. http://tracker.example:6969/announce",
            )
    return P2PConfig(disabled=section.get("disabled", False), trackers=trackers)


class TorrentRoute:
    """The handler of ``torrent/<digest>`` under the ``dockyard`` extension."""

    def __init__(self, config: P2PConfig, cache_dir: Path, public_host: str | None = None) -> None:
        self.config = config
        self.cache_dir = cache_dir
        #: ``http.host``: the base URL web seeds name (None: the scheme and Host of the request)
        self.public_host = public_host.rstrip("/") if public_host else None
        self._memory: OrderedDict[str, BlobTorrent] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[str, threading.Lock] = {}

    async def __call__(self, request: Request, registry: Registry, name: str, rest: str) -> None:
        if request.method not in ("GET", "HEAD"):
            raise MethodNotAllowed(
                f"{request.method} is not allowed on {request.path}", allow=("GET", "HEAD")
            )
        digest = parse_digest(rest.removeprefix("torrent/"))
        blob = await request.run(registry.blob, name, digest)
        if blob.size == 0:
            raise NotFound(
                f"blob {digest} is empty and has no torrent; GET it from /v2/{name}/blobs/"
            )
        torrent = await request.run(self.torrent, registry, name, str(digest))
        body = torrent.metainfo(
            web_seeds=[f"{self._base(request)}/v2/{name}/blobs/{digest}"],
            trackers=self.config.trackers,
        )
        await send_bytes(
            request.send,
            200,
            body,
            [
                (b"docker-content-digest", str(digest).encode()),
                (b"cache-control", b"private, max-age=31536000"),
            ],
            content_type=TORRENT_MEDIA_TYPE.encode(),
            head=request.method == "HEAD",
        )

    def _base(self, request: Request) -> str:
        if self.public_host is not None:
            return self.public_host
        scheme = request.scope.get("scheme", "http")
        host = request.header("host") or "{}:{}".format(*request.scope.get("server", ("", "")))
        return f"{scheme}://{host}"

    def torrent(self, registry: Registry, name: str, digest: str) -> BlobTorrent:
        """The blob's tree: from memory, the cache directory, or hashed now (once per digest
        in this process however many requests ask at the same moment)."""
        with self._lock:
            found = self._memory.get(digest)
            if found is not None:
                self._memory.move_to_end(digest)
                return found
            gate = self._computing.setdefault(digest, threading.Lock())
        with gate:
            with self._lock:
                found = self._memory.get(digest)
            if found is None:
                found = self._load_or_hash(registry, name, digest)
            with self._lock:
                self._memory[digest] = found
                while len(self._memory) > MEMORY_ENTRIES:
                    self._memory.popitem(last=False)
                self._computing.pop(digest, None)
        return found

    def _load_or_hash(self, registry: Registry, name: str, digest: str) -> BlobTorrent:
        algorithm, _, hexpart = digest.partition(":")
        path = self.cache_dir / algorithm / hexpart
        try:
            return BlobTorrent.from_record(path.read_bytes())
        except (FileNotFoundError, InvalidArgument):
            pass
        blob = registry.blob(name, parse_digest(digest))
        with blob.open() as f:
            torrent = hash_blob(hexpart, read_chunks(f), blob.size)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, torrent.to_record(), durable=False)
        return torrent


def dockyard_extension(
    torrents: TorrentRoute | None, other: ExtensionHandler | None
) -> ExtensionHandler | None:
    """One handler for ``/v2/<name>/_dockyard/…``: ``torrent/…`` here, the rest (scan
    reports) to ``other``."""
    if torrents is None:
        return other

    async def handle(request: Request, registry: Registry, name: str, rest: str) -> None:
        if rest.startswith("torrent/"):
            await torrents(request, registry, name, rest)
        elif other is not None:
            await other(request, registry, name, rest)
        else:
            raise NotFound(
                f"no such endpoint {request.path}; try /v2/{name}/_dockyard/torrent/<digest>"
            )

    return handle
