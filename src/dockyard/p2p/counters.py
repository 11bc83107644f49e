"""The agent's counters, rendered in Prometheus' text format on its ``/metrics``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

__all__ = ["Counters"]

_HELP = {
    "webseed_bytes": "Blob bytes fetched from the registry for the swarm (the web seed).",
    "registry_bytes": "Bytes fetched from the registry directly: small blobs and manifests.",
    "peer_bytes": "Blob payload bytes received from peers (swarm payload minus web seed).",
    "upload_bytes": "Blob payload bytes uploaded to peers.",
    "blobs_served": "Verified blobs sent to clients of the mirror endpoint.",
    "verify_failures": "Blobs whose digest did not match after the swarm finished.",
    "webseed_deferred": "Web seed ranges deferred because a connected peer has the pieces.",
}
_RECEIVED = "dockyard_p2p_received_bytes_total"
_FETCHED = "dockyard_p2p_blobs_fetched_total"


@dataclass
class Counters:
    """Monotonic totals; ``swarm`` supplies what libtorrent counts (downloaded, uploaded)."""

    webseed_bytes: int = 0
    registry_bytes: int = 0
    blobs_served: int = 0
    verify_failures: int = 0
    webseed_deferred: int = 0
    #: blobs fetched through the swarm (verified) and straight from the registry (small ones)
    blobs_swarm: int = 0
    blobs_direct: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def values(self, swarm_download: int, swarm_upload: int) -> dict[str, int]:
        with self._lock:
            return {
                "webseed_bytes": self.webseed_bytes,
                "registry_bytes": self.registry_bytes,
                "peer_bytes": max(0, swarm_download - self.webseed_bytes),
                "upload_bytes": swarm_upload,
                "blobs_served": self.blobs_served,
                "verify_failures": self.verify_failures,
                "webseed_deferred": self.webseed_deferred,
            }

    def render(
        self, swarm_download: int, swarm_upload: int, torrents: int = 0, pieces: int = 0
    ) -> bytes:
        """The counters, and by source: bytes received from peers vs the origin (the registry
        as web seed, the registry directly) and blobs fetched through the swarm vs directly;
        ``torrents`` and ``pieces``: what the swarm holds now (gauges)."""
        values = self.values(swarm_download, swarm_upload)
        lines: list[str] = []
        for name, value in values.items():
            metric = f"dockyard_p2p_{name}_total"
            lines += [f"# HELP {metric} {_HELP[name]}", f"# TYPE {metric} counter"]
            lines.append(f"{metric} {value}")
        lines += [
            f"# HELP {_RECEIVED} Bytes this agent received, by source: peers or the origin "
            "registry (as the swarm's web seed, or directly).",
            f"# TYPE {_RECEIVED} counter",
            f'{_RECEIVED}{{source="peer"}} {values["peer_bytes"]}',
            f'{_RECEIVED}{{source="webseed"}} {values["webseed_bytes"]}',
            f'{_RECEIVED}{{source="registry"}} {values["registry_bytes"]}',
        ]
        with self._lock:
            swarm, direct = self.blobs_swarm, self.blobs_direct
        lines += [
            f"# HELP {_FETCHED} Blobs this agent fetched, by way: the swarm (verified) or "
            "the registry directly (blobs below the direct size).",
            f"# TYPE {_FETCHED} counter",
            f'{_FETCHED}{{source="swarm"}} {swarm}',
            f'{_FETCHED}{{source="registry"}} {direct}',
            "# HELP dockyard_p2p_torrents Blobs the swarm holds or is fetching now.",
            "# TYPE dockyard_p2p_torrents gauge",
            f"dockyard_p2p_torrents {torrents}",
            "# HELP dockyard_p2p_pieces Verified pieces the swarm holds now, over every blob.",
            "# TYPE dockyard_p2p_pieces gauge",
            f"dockyard_p2p_pieces {pieces}",
        ]
        return ("\n".join(lines) + "\n").encode()
