"""The mirror's counters, in distribution's ``registry_proxy_*`` names."""

from __future__ import annotations

from dockyard.registry.metrics import MetricsRegistry

__all__ = ["ProxyMetrics"]


class ProxyMetrics:
    """Hits, misses, bytes pulled, stale answers and upstream requests, by kind
    (``manifest`` or ``blob``) and upstream."""

    def __init__(self, registry: MetricsRegistry | None = None) -> None:
        r = registry if registry is not None else MetricsRegistry()
        labels = ["type", "upstream"]
        self.hits = r.counter(
            "registry_proxy_hits_total", "Requests answered from the cache.", labels
        )
        self.misses = r.counter(
            "registry_proxy_misses_total", "Requests that fetched from the upstream.", labels
        )
        self.pulled_bytes = r.counter(
            "registry_proxy_pulled_bytes_total", "Bytes fetched from the upstream.", labels
        )
        self.stale = r.counter(
            "registry_proxy_stale_served_total",
            "Cached manifests served stale because the upstream failed (down, 429, 5xx).",
            [*labels, "reason"],
        )
        self.upstream_requests = r.counter(
            "registry_proxy_upstream_requests_total",
            "Requests the mirror sent to an upstream, by method and status (0: unreachable).",
            ["upstream", "method", "code"],
        )
