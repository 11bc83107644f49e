"""One libtorrent session: joins a blob's torrent, waits for it, checks the digest, seeds.

Files: ``<data>/swarm/<hex>`` is where libtorrent writes (every piece verified against the
v2 merkle tree before it is written or uploaded); ``<data>/blobs/sha256/<hex>`` is a hard
link made only after the whole file's SHA-256 equals the digest — the only files clients
are sent; ``<data>/torrents/<hex>.torrent`` lets a restarted agent seed what it has and
finish what it had begun, with its web seed (BEP 19 ``url-list``) rewritten to this run's.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import Unavailable
from dockyard.p2p._libtorrent import libtorrent
from dockyard.p2p.counters import Counters

__all__ = ["Swarm", "SwarmSettings"]

log = logging.getLogger("dockyard.p2p")

#: How often a waiting fetch looks at the torrent's state.
POLL = 0.05
#: Web seed ranges are dealt to agents in slices of this many bytes.
SHARE = 1 << 20
#: Seconds between checks that every downloading torrent still has its web seed.
REARM = 1.0
#: Seconds a web seed range may be deferred to peers before the registry serves it.
FALLBACK = 3.0
#: Seconds a finished torrent's file may take to match its digest (blocks still being written).
FLUSH_WAIT = 10.0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class SwarmSettings:
    data: Path
    #: HOST:PORT libtorrent listens on for peers
    peer_listen: str = "0.0.0.0:6881"
    #: extra trackers announced to, besides the torrent's own
    trackers: tuple[str, ...] = ()
    #: bytes per second, 0 for unlimited (peers on the local network included)
    upload_limit: int = 0
    download_limit: int = 0
    #: seconds a blob may take before a fetch gives up
    timeout: float = 3600.0


class Swarm:
    """Thread-safe: concurrent fetches of one digest share one download."""

    def __init__(
        self,
        settings: SwarmSettings,
        counters: Counters,
        web_seed: Callable[[str], str | None] | None = None,
    ) -> None:
        """``web_seed`` maps the web seed a stored torrent was joined with (an earlier run's
        URL) to this run's, for torrents resumed from ``<data>/torrents``."""
        lt = libtorrent()
        self.lt = lt
        self.settings = settings
        self.counters = counters
        for sub in ("swarm", "blobs/sha256", "torrents"):
            (settings.data / sub).mkdir(parents=True, exist_ok=True)
        self.session = lt.session(
            {
                "listen_interfaces": settings.peer_listen,
                "enable_dht": False,
                "enable_lsd": False,
                "enable_upnp": False,
                "enable_natpmp": False,
                "upload_rate_limit": settings.upload_limit,
                "download_rate_limit": settings.download_limit,
                # a refused web seed range (a peer has it) is asked again a second later
                "urlseed_wait_retry": 1,
                # one web seed request per piece or so: deferral decides piece by piece
                "urlseed_max_request_bytes": 1 << 20,
                "allow_multiple_connections_per_ip": True,
                "announce_to_all_trackers": True,
                "announce_to_all_tiers": True,
                "user_agent": "dockyard-p2p",
                "alert_mask": 0,
            }
        )
        # limits hold for peers on the local network too (libtorrent exempts them by default)
        flt = lt.ip_filter()
        flt.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        self.session.set_peer_class_filter(flt)
        self._lock = threading.Lock()
        self._handles: dict[str, Any] = {}
        self._gates: dict[str, threading.Lock] = {}
        self._deferred: dict[tuple[str, int], float] = {}
        self._web_seeds: dict[str, str] = {}
        self._rebase = web_seed
        self._closed = threading.Event()
        self._keeper = threading.Thread(
            target=self._keep_web_seeds, name="p2p-webseeds", daemon=True
        )
        self._keeper.start()
        #: the address peers see this agent at, which ranks it in the web seed's
        #: round-robin (None when it listens on every interface: no shares, then)
        host = settings.peer_listen.rpartition(":")[0].strip("[]")
        self.peer_ip = None if host in ("", "0.0.0.0", "::") else host
        self._resume()

    # --- state -----------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        return self.settings.data / "blobs" / "sha256" / digest.removeprefix("sha256:")

    def have(self, digest: str) -> Path | None:
        path = self.blob_path(digest)
        return path if path.is_file() else None

    def totals(self) -> tuple[int, int]:
        """(payload downloaded, payload uploaded) over every torrent of this session."""
        with self._lock:
            handles = list(self._handles.values())
        down = up = 0
        for h in handles:
            st = h.status()
            down += st.total_payload_download
            up += st.total_payload_upload
        return down, up

    def holdings(self) -> tuple[int, int]:
        """(torrents, verified pieces held) over every torrent of this session."""
        with self._lock:
            handles = list(self._handles.values())
        pieces = sum(h.status().num_pieces for h in handles)
        return len(handles), pieces

    def web_seeds(self, digest: str) -> list[str]:
        """The web seed URLs libtorrent holds for ``digest``'s torrent."""
        with self._lock:
            handle = self._handles.get(digest)
        return [] if handle is None else sorted(handle.url_seeds())

    def size_of(self, digest: str) -> int | None:
        with self._lock:
            handle = self._handles.get(digest)
        return None if handle is None else int(handle.torrent_file().layout().file_size(0))

    def defer_web_seed(self, digest: str, first: int, last: int) -> bool:
        """Whether the web seed should leave bytes ``first..last`` to the peers for now.

        The registry is the source of last resort: a range is deferred when connected peers
        (web seeds not counted) hold all its pieces, or when it belongs to another peer's
        share — ranges are dealt round-robin (by :data:`SHARE` bytes) over this agent and its
        connected peers, ordered by IP address, so N agents starting together each fetch about
        1/N of a blob from the registry and trade the rest. A range deferred for
        :data:`FALLBACK` seconds is served anyway (a peer that left, or a share nobody took)."""
        with self._lock:
            handle = self._handles.get(digest)
        if handle is None:
            return False
        lt = self.lt
        plen = handle.torrent_file().piece_length()
        peers = [
            p
            for p in handle.get_peer_info()
            if p.connection_type != lt.peer_info.web_seed and not p.flags & lt.peer_info.connecting
        ]
        if not peers:
            return False
        key = (digest, first)
        now = time.monotonic()
        with self._lock:
            since = self._deferred.setdefault(key, now)
        if now - since >= FALLBACK:
            return False
        wanted = range(first // plen, last // plen + 1)
        held = all(any(len(p.pieces) > i and p.pieces[i] for p in peers) for i in wanted)
        if held:
            return True
        if self.peer_ip is not None:
            members = sorted({p.ip[0] for p in peers} | {self.peer_ip})
            if members[(first // SHARE) % len(members)] != self.peer_ip:
                return True
        with self._lock:
            self._deferred.pop(key, None)
        return False

    # --- fetching --------------------------------------------------------------------------

    def fetch(self, digest: str, metainfo: Callable[[], bytes], web_seed: str) -> Path:
        """The verified blob: already here, or joined, downloaded and checked now.
        ``metainfo`` gives the registry's torrent (called only when needed)."""
        found = self.have(digest)
        if found is not None:
            return found
        with self._lock:
            gate = self._gates.setdefault(digest, threading.Lock())
        with gate:
            found = self.have(digest)
            if found is not None:
                return found
            with self._lock:
                handle = self._handles.get(digest)
            if handle is not None and handle.is_valid():  # resumed: what it has is kept
                self._set_web_seed(digest, handle, web_seed)
            else:
                handle = self._join(digest, metainfo(), web_seed)
            self._wait(digest, handle)
            return self._verify(digest, handle)

    def _join(self, digest: str, raw: bytes, web_seed: str) -> Any:
        lt = self.lt
        hexpart = digest.removeprefix("sha256:")
        meta = lt.bdecode(raw)
        if not isinstance(meta, dict) or b"info" not in meta:
            raise Unavailable(f"the registry's torrent of {digest} is not a torrent")
        # the registry's web seed would need our credentials: the agent's seed route
        # forwards ranges with them instead
        meta[b"url-list"] = [web_seed.encode()]
        trackers = [t.decode() for tier in meta.get(b"announce-list", []) for t in tier]
        trackers += [t for t in self.settings.trackers if t not in trackers]
        if trackers:
            meta[b"announce"] = trackers[0].encode()
            meta[b"announce-list"] = [[t.encode()] for t in trackers]
        with self._lock:
            self._web_seeds[digest] = web_seed
        encoded = lt.bencode(meta)
        info = lt.torrent_info(encoded)
        files = info.layout()
        if info.name() != hexpart or files.file_path(0) != hexpart:
            raise Unavailable(f"the registry's torrent of {digest} names another file")
        if any(not files.file_flags(i) & files.flag_pad_file for i in range(1, files.num_files())):
            raise Unavailable(f"the registry's torrent of {digest} holds other files")
        (self.settings.data / "torrents" / f"{hexpart}.torrent").write_bytes(encoded)
        return self._add(digest, info, seed=False)

    def _set_web_seed(self, digest: str, handle: Any, url: str) -> None:
        """``url`` as the torrent's only web seed (libtorrent ends the web seed of a torrent
        it sees as several files with "/": that form counts as the same URL)."""
        with self._lock:
            self._web_seeds[digest] = url
        held = False
        for old in handle.url_seeds():
            if old.rstrip("/") == url.rstrip("/"):
                held = True
            else:
                handle.remove_url_seed(old)
        if not held:
            handle.add_url_seed(url)

    def _add(self, digest: str, info: Any, *, seed: bool) -> Any:
        params = self.lt.add_torrent_params()
        params.ti = info
        params.save_path = str(self.settings.data / "swarm")
        if seed:
            params.flags |= self.lt.torrent_flags.seed_mode
        handle = self.session.add_torrent(params)
        with self._lock:
            self._handles[digest] = handle
        return handle

    def _wait(self, digest: str, handle: Any) -> None:
        deadline = time.monotonic() + self.settings.timeout
        while True:
            st = handle.status()
            if st.is_seeding:
                return
            if st.errc.value():
                raise Unavailable(f"the swarm of {digest} failed: {st.errc.message()}")
            if self._closed.is_set():
                raise Unavailable(f"the agent stopped while fetching {digest}; pull again")
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"blob {digest} did not arrive within {self.settings.timeout:g}s "
                    f"({st.progress:.0%} done, {st.num_peers} peers)",
                    hint="check that the registry and the tracker are reachable",
                )
            time.sleep(POLL)

    def _verify(self, digest: str, handle: Any) -> Path:
        """Link the swarm's file as the blob once its SHA-256 is the digest. libtorrent
        reports a torrent complete when every piece passed its hash check, which may be
        before the last blocks reach the file: the cache is flushed and the check repeated
        for a few seconds before the copy counts as bad."""
        hexpart = digest.removeprefix("sha256:")
        src = self.settings.data / "swarm" / hexpart
        size = int(handle.torrent_file().layout().file_size(0))
        handle.flush_cache()
        deadline = time.monotonic() + FLUSH_WAIT
        while True:
            actual = _sha256(src) if src.is_file() and src.stat().st_size == size else None
            if actual == hexpart:
                break
            if time.monotonic() > deadline:
                self.counters.add("verify_failures")
                self.remove(digest)
                raise Unavailable(
                    f"the swarm's copy of {digest} does not match it "
                    f"(sha256:{actual or 'incomplete'}); it was deleted, pull again"
                )
            time.sleep(0.2)
        dst = self.blob_path(digest)
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.unlink(missing_ok=True)
        os.link(src, tmp)
        os.replace(tmp, dst)
        return dst

    def remove(self, digest: str) -> None:
        with self._lock:
            handle = self._handles.pop(digest, None)
        if handle is not None:
            self.session.remove_torrent(handle, self.lt.session.delete_files)

    def _resume(self) -> None:
        """Seed again what an earlier run verified (libtorrent re-checks nothing: the digest
        was checked before the blob was linked), and go on with what it had begun (libtorrent
        checks the pieces on disk and fetches the rest; a fetch then waits for it and checks
        the digest). The stored torrent names the earlier run's web seed — another port and
        secret — so its ``url-list`` becomes this run's before libtorrent sees it."""
        for path in sorted((self.settings.data / "torrents").glob("*.torrent")):
            digest = f"sha256:{path.stem}"
            if not (self.settings.data / "swarm" / path.stem).is_file():
                continue
            try:
                raw = path.read_bytes()
                meta = self.lt.bdecode(raw)
                if not isinstance(meta, dict) or b"info" not in meta:
                    raise RuntimeError("not a torrent")
                url = self._current_web_seed(meta.get(b"url-list"))
                meta[b"url-list"] = [url.encode()] if url else []
                encoded = self.lt.bencode(meta)
                if encoded != raw:
                    path.write_bytes(encoded)
                if url:
                    with self._lock:
                        self._web_seeds[digest] = url
                info = self.lt.torrent_info(encoded)
                self._add(digest, info, seed=self.have(digest) is not None)
            except (RuntimeError, OSError) as exc:
                log.warning("cannot resume %s: %s", digest, exc)

    def _current_web_seed(self, stored: object) -> str | None:
        urls = stored if isinstance(stored, list) else [stored]
        for u in urls:
            if isinstance(u, bytes) and self._rebase is not None:
                current = self._rebase(u.decode(errors="replace"))
                if current:
                    return current
        return None

    def _keep_web_seeds(self) -> None:
        """libtorrent drops a web seed that answered an error (a deferral's 503 included)
        and does not come back to it: a downloading torrent without a web seed connection
        gets its web seed again every :data:`REARM` seconds."""
        web = self.lt.peer_info.web_seed
        while not self._closed.wait(REARM):
            with self._lock:
                items = [(d, h, self._web_seeds.get(d)) for d, h in self._handles.items()]
            for _digest, handle, url in items:
                if url is None or not handle.is_valid():
                    continue
                try:
                    if handle.status().is_seeding:
                        continue
                    if any(p.connection_type == web for p in handle.get_peer_info()):
                        continue
                    # libtorrent may hold it as "<url>/": re-add it in the form it had
                    held = [u for u in handle.url_seeds() if u.rstrip("/") == url.rstrip("/")]
                    for u in held:
                        handle.remove_url_seed(u)
                    handle.add_url_seed(held[0] if held else url)
                except RuntimeError as exc:  # the torrent went away meanwhile
                    log.debug("cannot re-add a web seed: %s", exc)

    def digests(self) -> Sequence[str]:
        with self._lock:
            return sorted(self._handles)

    def close(self) -> None:
        self._closed.set()
        self.session.pause()
