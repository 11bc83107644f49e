"""A small thread-safe Prometheus registry (text exposition format 0.0.4), no dependency.

:class:`MetricsRegistry` holds counters, gauges and histograms with labels and renders them for
``GET /metrics``; :class:`RegistryMetrics` is the registry server's own set. Labels carry route
*names* ("manifest", "blob" …), never raw paths, so the number of series stays bounded.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "DISTRIBUTION_DURATION_BUCKETS",
    "DISTRIBUTION_HANDLERS",
    "DISTRIBUTION_SIZE_BUCKETS",
    "STORAGE_ACTION_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "MetricsRegistry",
    "RegistryMetrics",
    "Snapshot",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
_METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"})
#: distribution 2.8's (docker/go-metrics) request latency buckets, seconds
DISTRIBUTION_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60)
#: distribution 2.8's request and response size buckets: 1 KiB times 2^0 to 2^21
DISTRIBUTION_SIZE_BUCKETS = tuple(1024.0 * 2**i for i in range(22))
#: distribution 2.8's storage action buckets (Prometheus' default buckets), seconds
STORAGE_ACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
#: dockyard's /v2/ route names → distribution's ``handler`` label values
DISTRIBUTION_HANDLERS = {
    "base": "base",
    "catalog": "catalog",
    "tags": "tags",
    "manifest": "manifest",
    "blob": "blob",
    "uploads": "blob_upload",
    "upload": "blob_upload_chunk",
    "referrers": "referrers",
    "extension": "extension",
}


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape_label(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not name.replace("_", "a").replace(":", "a").isalnum() or name[0].isdigit():
            raise ValueError(f"metric name {name!r} is not valid")
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()

    def _key(self, values: Sequence[str]) -> tuple[str, ...]:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(values)}")
        return tuple(values)

    def header(self) -> list[str]:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return [f"# HELP {self.name} {help_text}", f"# TYPE {self.name} {self.kind}"]

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        """The current values by label values (a copy), to merge with other processes'."""
        raise NotImplementedError

    def merge(
        self, values: dict[tuple[str, ...], list[float]], other: dict[tuple[str, ...], list[float]]
    ) -> None:
        """Add ``other`` (another process's snapshot) into ``values``."""
        for key, theirs in other.items():
            mine = values.get(key)
            values[key] = (
                list(theirs) if mine is None else [a + b for a, b in zip(mine, theirs, strict=True)]
            )

    def samples(self, values: dict[tuple[str, ...], list[float]] | None = None) -> list[str]:
        """Exposition lines for ``values`` (default: this process's own)."""
        raise NotImplementedError


class Counter(_Metric):
    """A value that only goes up; ``inc(1, "GET", "manifest")`` with label values in order."""

    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help, labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        if not self.labelnames:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, *labels: str) -> None:
        if amount < 0:
            raise ValueError("a counter cannot go down")
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def add(self, key: tuple[str, ...], amount: float) -> None:
        """``inc`` for label values already checked (one per label, amount ≥ 0)."""
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        with self._lock:
            return {k: [v] for k, v in self._values.items()}

    def samples(self, values: dict[tuple[str, ...], list[float]] | None = None) -> list[str]:
        items = sorted((values if values is not None else self.snapshot()).items())
        return [f"{self.name}{_labels(self.labelnames, k)} {_number(v[0])}" for k, v in items]


class Gauge(Counter):
    """A value that goes up and down. Across processes the values add up, or with
    ``aggregate="max"`` the largest one counts (e.g. an "info" gauge that is always 1)."""

    kind = "gauge"

    def __init__(
        self, name: str, help: str, labelnames: Sequence[str] = (), aggregate: str = "sum"
    ) -> None:
        super().__init__(name, help, labelnames)
        if aggregate not in ("sum", "max"):
            raise ValueError(f"gauge aggregate {aggregate!r}: use sum or max")
        self.aggregate = aggregate

    def merge(
        self, values: dict[tuple[str, ...], list[float]], other: dict[tuple[str, ...], list[float]]
    ) -> None:
        if self.aggregate == "sum":
            super().merge(values, other)
            return
        for key, theirs in other.items():
            mine = values.get(key)
            values[key] = list(theirs) if mine is None else [max(mine[0], theirs[0])]

    def inc(self, amount: float = 1.0, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, *labels: str) -> None:
        self.inc(-amount, *labels)

    def set(self, value: float, *labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    """Observations counted into cumulative ``le`` buckets, with ``_sum`` and ``_count``."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help, labelnames)
        if "le" in self.labelnames:
            raise ValueError("a histogram cannot have a label named 'le'")
        self.buckets = tuple(sorted(set(buckets)))
        self._series: dict[tuple[str, ...], list[float]] = {}  # bucket counts…, sum, count

    def observe(self, value: float, *labels: str) -> None:
        self.observe_key(self._key(labels), value)

    def observe_key(self, key: tuple[str, ...], value: float) -> None:
        """``observe`` for label values already checked."""
        with self._lock:
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = [0.0] * (len(self.buckets) + 2)
            index = bisect.bisect_left(self.buckets, value)
            if index < len(self.buckets):
                series[index] += 1
            series[-2] += value
            series[-1] += 1

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        with self._lock:
            return {k: list(v) for k, v in self._series.items()}

    def samples(self, values: dict[tuple[str, ...], list[float]] | None = None) -> list[str]:
        items = sorted((values if values is not None else self.snapshot()).items())
        lines: list[str] = []
        for key, series in items:
            running = 0.0
            for bound, count in zip(self.buckets, series, strict=False):
                running += count
                le = _labels(self.labelnames, key, f'le="{_number(bound)}"')
                lines.append(f"{self.name}_bucket{le} {_number(running)}")
            le = _labels(self.labelnames, key, 'le="+Inf"')
            lines.append(f"{self.name}_bucket{le} {_number(series[-1])}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {_number(series[-2])}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {_number(series[-1])}")
        return lines


_M = TypeVar("_M", bound=_Metric)
#: A :class:`MetricsRegistry` snapshot: metric name → [[label values], values] pairs.
Snapshot = dict[str, list[Any]]


class MetricsRegistry:
    """Metrics by name, rendered in registration order."""

    def __init__(self) -> None:
        self._metrics: dict[str, _Metric] = {}
        self._lock = threading.Lock()

    def register(self, metric: _M) -> _M:
        with self._lock:
            if metric.name in self._metrics:
                raise ValueError(f"metric {metric.name!r} is already registered")
            self._metrics[metric.name] = metric
        return metric

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        return self.register(Counter(name, help, labelnames))

    def gauge(
        self, name: str, help: str, labelnames: Sequence[str] = (), aggregate: str = "sum"
    ) -> Gauge:
        return self.register(Gauge(name, help, labelnames, aggregate))

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self.register(Histogram(name, help, labelnames, buckets))

    def snapshot(self) -> Snapshot:
        """Every metric's values, in a form :func:`json.dumps` can write (for other processes
        to add to theirs: see :meth:`render`)."""
        with self._lock:
            metrics = list(self._metrics.values())
        return {m.name: [[list(k), v] for k, v in m.snapshot().items()] for m in metrics}

    def render(self, others: Iterable[Snapshot] = ()) -> bytes:
        """The exposition text; serve it with ``Content-Type:`` :data:`CONTENT_TYPE`.
        ``others``: snapshots of the same metrics in other processes, added to these."""
        with self._lock:
            metrics = list(self._metrics.values())
        others = list(others)
        lines: list[str] = []
        for metric in metrics:
            values = metric.snapshot()
            for other in others:
                entries = other.get(metric.name) or []
                metric.merge(values, {tuple(k): v for k, v in entries})
            lines.extend(metric.header())
            lines.extend(metric.samples(values))
        return ("\n".join(lines) + "\n").encode("utf-8")


#: one kind of request's label values: dockyard's requests, duration, bytes; distribution's
#: requests (None: not a /v2/ route), duration, sizes
_RequestKeys = tuple[
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...] | None,
    tuple[str, ...],
    tuple[str, ...],
]


class RegistryMetrics:
    """The registry server's metrics, with one call per event the server reports."""

    content_type = CONTENT_TYPE

    def __init__(self, version: str = "") -> None:
        self._request_keys: dict[tuple[str, str, int], _RequestKeys] = {}
        r = self.registry = MetricsRegistry()
        self.build_info = r.gauge(
            "dockyard_build_info",
            "Always 1; the version label says which dockyard.",
            ["version"],
            aggregate="max",
        )
        self.build_info.set(1, version)
        self.requests = r.counter(
            "dockyard_http_requests_total", "HTTP requests answered.", ["method", "route", "code"]
        )
        self.duration = r.histogram(
            "dockyard_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
        )
        self.in_flight = r.gauge(
            "dockyard_http_requests_in_flight", "/v2/ requests being answered now."
        )
        self.bytes_received = r.counter(
            "dockyard_http_request_bytes_total", "Request body bytes received.", ["route"]
        )
        self.bytes_sent = r.counter(
            "dockyard_http_response_bytes_total", "Response body bytes sent.", ["route"]
        )
        self.uploads_started = r.counter(
            "dockyard_uploads_started_total", "Blob upload sessions started."
        )
        self.uploads_completed = r.counter(
            "dockyard_uploads_completed_total", "Blob uploads committed after digest verification."
        )
        self.uploads_failed = r.counter(
            "dockyard_uploads_failed_total", "Blob uploads rejected or cancelled.", ["reason"]
        )
        self.gc_runs = r.counter("dockyard_gc_runs_total", "Garbage collection runs.")
        self.gc_blobs_deleted = r.counter(
            "dockyard_gc_blobs_deleted_total", "Blobs deleted by garbage collection."
        )
        self.gc_bytes_deleted = r.counter(
            "dockyard_gc_bytes_deleted_total", "Bytes freed by garbage collection."
        )
        # distribution's own families (registry:2's http.debug prometheus), for /v2/ only:
        # handler = distribution's route name, method in lower case, as docker/go-metrics
        self.d_requests = r.counter(
            "registry_http_requests_total",
            "Total number of HTTP requests made.",
            ["code", "handler", "method"],
        )
        self.d_duration = r.histogram(
            "registry_http_request_duration_seconds",
            "The HTTP request latencies in seconds.",
            ["handler", "method"],
            buckets=DISTRIBUTION_DURATION_BUCKETS,
        )
        self.d_in_flight = r.gauge(
            "registry_http_in_flight_requests", "The in-flight HTTP requests", ["handler"]
        )
        for handler in ("base", "blob", "blob_upload", "blob_upload_chunk", "catalog", "manifest"):
            self.d_in_flight.set(0, handler)  # as distribution: its routes' series from the start
        self.d_in_flight.set(0, "tags")
        self.d_request_size = r.histogram(
            "registry_http_request_size_bytes",
            "The HTTP request sizes in bytes.",
            ["handler"],
            buckets=DISTRIBUTION_SIZE_BUCKETS,
        )
        self.d_response_size = r.histogram(
            "registry_http_response_size_bytes",
            "The HTTP response sizes in bytes.",
            ["handler"],
            buckets=DISTRIBUTION_SIZE_BUCKETS,
        )
        self.storage_action = r.histogram(
            "registry_storage_action_seconds",
            "The number of seconds that the storage action takes",
            ["driver", "action"],
            buckets=STORAGE_ACTION_BUCKETS,
        )
        self.gc_duration = r.histogram(
            "dockyard_gc_duration_seconds",
            "Time one garbage collection run took.",
            buckets=(0.01, 0.1, 1, 10, 60, 600),
        )

    def observe_request(
        self,
        method: str,
        route: str,
        status: int,
        seconds: float,
        *,
        received: int = 0,
        sent: int = 0,
    ) -> None:
        """Record one answered request (call once, after the response body went out)."""
        keys = self._request_keys.get((method, route, status))
        if keys is None:
            keys = self._keys(method, route, status)
        self.requests.add(keys[0], 1.0)
        self.duration.observe_key(keys[1], seconds)
        if received:
            self.bytes_received.add(keys[2], received)
        if sent:
            self.bytes_sent.add(keys[2], sent)
        if keys[3] is not None:  # a /v2/ route: distribution's families too
            self.d_requests.add(keys[3], 1.0)
            self.d_duration.observe_key(keys[4], seconds)
            self.d_request_size.observe_key(keys[5], received)
            self.d_response_size.observe_key(keys[5], sent)

    def request_started(self, route: str) -> None:
        """A /v2/ request matched ``route`` and its handler starts (see :meth:`request_ended`)."""
        self.in_flight.add((), 1.0)
        handler = DISTRIBUTION_HANDLERS.get(route)
        if handler is not None:
            self.d_in_flight.add((handler,), 1.0)

    def request_ended(self, route: str) -> None:
        """The request :meth:`request_started` counted was answered."""
        self.in_flight.add((), -1.0)
        handler = DISTRIBUTION_HANDLERS.get(route)
        if handler is not None:
            self.d_in_flight.add((handler,), -1.0)

    def _keys(self, method: str, route: str, status: int) -> _RequestKeys:
        """The label values of one kind of request, checked once and remembered."""
        label = method if method in _METHODS else method.upper()
        if label not in _METHODS:
            label = "OTHER"
        handler = DISTRIBUTION_HANDLERS.get(route)
        code = str(status)
        keys: _RequestKeys = (
            self.requests._key((label, route, code)),
            self.duration._key((label, route)),
            self.bytes_sent._key((route,)),
            None if handler is None else self.d_requests._key((code, handler, label.lower())),
            () if handler is None else self.d_duration._key((handler, label.lower())),
            () if handler is None else self.d_request_size._key((handler,)),
        )
        if len(self._request_keys) >= 4096:  # bounded: routes are names, statuses few
            self._request_keys.clear()
        self._request_keys[(method, route, status)] = keys
        return keys

    def upload_started(self) -> None:
        self.uploads_started.inc()

    def upload_completed(self) -> None:
        self.uploads_completed.inc()

    def upload_failed(self, reason: str = "error") -> None:
        """``reason``: a small fixed word, e.g. "digest", "size", "cancelled", "error"."""
        self.uploads_failed.inc(1, reason)

    def gc_finished(self, seconds: float, blobs_deleted: int, bytes_deleted: int = 0) -> None:
        self.gc_runs.inc()
        self.gc_duration.observe(seconds)
        self.gc_blobs_deleted.inc(blobs_deleted)
        self.gc_bytes_deleted.inc(bytes_deleted)

    def render(self, others: Iterable[Snapshot] = ()) -> bytes:
        return self.registry.render(others)

    def snapshot(self) -> Snapshot:
        return self.registry.snapshot()
