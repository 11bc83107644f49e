"""A small thread-safe Prometheus registry (text exposition format 0.0.4), no dependency.

:class:`MetricsRegistry` holds counters, gauges and histograms with labels and renders them for
``GET /metrics``; :class:`RegistryMetrics` is the registry server's own set. Labels carry route
*names* ("manifest", "blob" …), never raw paths, so the number of series stays bounded.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
from collections.abc import Callable, Iterable, Sequence
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
    "ReadGauge",
    "RegistryMetrics",
    "RequestStats",
    "Snapshot",
]

log = logging.getLogger("dockyard.registry.metrics")

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

    def key(self, values: Sequence[str]) -> tuple[str, ...]:
        """The series of these label values, checked against the metric's label names (once,
        for callers that observe the same series again and again: ``observe_key``, ``row``)."""
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {tuple(values)}")
        return tuple(values)

    def header(self) -> list[str]:
        help_text = self.help.replace("\\", "\\\\").replace("\n", "\\n")
        return [f"# HELP {self.name} {help_text}", f"# TYPE {self.name} {self.kind}"]

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        """The current values by label values (a copy), to merge with other processes'."""
        raise NotImplementedError

    def collect(self) -> dict[tuple[str, ...], list[float]]:
        """The values to render in this process (before other processes' are added)."""
        return self.snapshot()

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
        key = self.key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def add(self, key: tuple[str, ...], amount: float) -> None:
        """``inc`` for label values already checked (one per label, amount ≥ 0)."""
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(self.key(labels), 0.0)

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
        key = self.key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, *labels: str) -> None:
        self.inc(-amount, *labels)

    def set(self, value: float, *labels: str) -> None:
        key = self.key(labels)
        with self._lock:
            self._values[key] = float(value)


class ReadGauge(Gauge):
    """A gauge whose values are read when the page is rendered (``read``: label values →
    value), from a source every process shares (a database): nothing is kept in memory or
    handed to the other processes (they would read the same values), so it costs nothing
    between scrapes. A failed read renders no series (and is not an error of the page)."""

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str],
        read: Callable[[], dict[tuple[str, ...], float]],
    ) -> None:
        super().__init__(name, help, labelnames, aggregate="max")
        self.read = read

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        return {}

    def collect(self) -> dict[tuple[str, ...], list[float]]:
        try:
            found = self.read()
        except Exception:
            log.warning("metric %s: cannot read its values", self.name, exc_info=True)
            return {}
        return {self.key(k): [float(v)] for k, v in found.items()}


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
        self.observe_key(self.key(labels), value)

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
            values = metric.collect()
            for other in others:
                entries = other.get(metric.name) or []
                metric.merge(values, {tuple(k): v for k, v in entries})
            lines.extend(metric.header())
            lines.extend(metric.samples(values))
        return ("\n".join(lines) + "\n").encode("utf-8")


#: the request latency histograms' bounds: dockyard's and distribution's, each rendered with its own
_LATENCY_BOUNDS = tuple(sorted(set(DEFAULT_BUCKETS) | set(DISTRIBUTION_DURATION_BUCKETS)))
_NL = len(_LATENCY_BOUNDS)
_NS = len(DISTRIBUTION_SIZE_BUCKETS)
# a row: count, latency buckets (not cumulative), latency sum, received, sent, request size
# buckets, response size buckets
_SUM, _RECV, _SENT = 1 + _NL, 2 + _NL, 3 + _NL
_RSIZE = 4 + _NL
_WSIZE = _RSIZE + _NS
_ROW = _WSIZE + _NS
_INF = 'le="+Inf"'


class RequestStats(_Metric):
    """Every answered request's numbers, one row per (method, route, code) under one lock, from
    which both request family sets are rendered: dockyard's (``dockyard_http_*``, every route)
    and distribution's (``registry_http_*``, the /v2/ routes by distribution's handler names,
    its latency and size buckets). One observation per request feeds all of them."""

    kind = "counter"

    def __init__(self) -> None:
        super().__init__("dockyard_http_requests_total", "HTTP requests answered.",
                         ("method", "route", "code"))  # fmt: skip
        self._rows: dict[tuple[str, ...], list[float]] = {}

    def row(self, key: tuple[str, ...]) -> list[float]:
        """The row of ``key`` (label values already checked), made when first asked for."""
        with self._lock:
            row = self._rows.get(key)
            if row is None:
                row = self._rows[key] = [0.0] * _ROW
            return row

    def observe(self, row: list[float], seconds: float, received: int, sent: int) -> None:
        i = bisect.bisect_left(_LATENCY_BOUNDS, seconds)
        r = bisect.bisect_left(DISTRIBUTION_SIZE_BUCKETS, received)
        w = bisect.bisect_left(DISTRIBUTION_SIZE_BUCKETS, sent)
        with self._lock:
            row[0] += 1
            if i < _NL:
                row[1 + i] += 1
            row[_SUM] += seconds
            row[_RECV] += received
            row[_SENT] += sent
            if r < _NS:
                row[_RSIZE + r] += 1
            if w < _NS:
                row[_WSIZE + w] += 1

    def value(self, *labels: str) -> float:
        """How many requests of (method, route, code) were answered."""
        with self._lock:
            row = self._rows.get(self.key(labels))
            return row[0] if row is not None else 0.0

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        with self._lock:
            return {k: list(v) for k, v in self._rows.items()}

    def header(self) -> list[str]:
        return []  # each family writes its own in samples()

    def samples(self, values: dict[tuple[str, ...], list[float]] | None = None) -> list[str]:
        rows = sorted((values if values is not None else self.snapshot()).items())
        by_route: dict[tuple[str, ...], list[float]] = {}
        sent: dict[tuple[str, ...], float] = {}
        received: dict[tuple[str, ...], float] = {}
        d_requests: dict[tuple[str, ...], list[float]] = {}
        d_latency: dict[tuple[str, ...], list[float]] = {}
        d_sizes: dict[tuple[str, ...], list[float]] = {}
        for (method, route, code), row in rows:
            _add(by_route, (method, route), row)
            if row[_RECV]:
                received[(route,)] = received.get((route,), 0.0) + row[_RECV]
            if row[_SENT]:
                sent[(route,)] = sent.get((route,), 0.0) + row[_SENT]
            handler = DISTRIBUTION_HANDLERS.get(route)
            if handler is not None:
                d_requests[(code, handler, method.lower())] = [row[0]]
                _add(d_latency, (handler, method.lower()), row)
                _add(d_sizes, (handler,), row)
        lines = self._family("counter", self.name, self.help, self.labelnames,
                             [(k, [v[0]]) for k, v in rows])  # fmt: skip
        lines += _histogram(
            "dockyard_http_request_duration_seconds", "Time to answer an HTTP request.",
            ("method", "route"), by_route, DEFAULT_BUCKETS,
        )  # fmt: skip
        lines += self._family("counter", "dockyard_http_request_bytes_total",
                              "Request body bytes received.", ("route",),
                              [(k, [v]) for k, v in sorted(received.items())])  # fmt: skip
        lines += self._family("counter", "dockyard_http_response_bytes_total",
                              "Response body bytes sent.", ("route",),
                              [(k, [v]) for k, v in sorted(sent.items())])  # fmt: skip
        lines += self._family("counter", "registry_http_requests_total",
                              "Total number of HTTP requests made.", ("code", "handler", "method"),
                              sorted(d_requests.items()))  # fmt: skip
        lines += _histogram(
            "registry_http_request_duration_seconds", "The HTTP request latencies in seconds.",
            ("handler", "method"), d_latency, DISTRIBUTION_DURATION_BUCKETS,
        )  # fmt: skip
        lines += _histogram("registry_http_request_size_bytes", "The HTTP request sizes in bytes.",
                            ("handler",), d_sizes, DISTRIBUTION_SIZE_BUCKETS, sizes=_RSIZE)  # fmt: skip
        lines += _histogram(
            "registry_http_response_size_bytes", "The HTTP response sizes in bytes.",
            ("handler",), d_sizes, DISTRIBUTION_SIZE_BUCKETS, sizes=_WSIZE,
        )  # fmt: skip
        return lines

    @staticmethod
    def _family(
        kind: str,
        name: str,
        help: str,
        labelnames: Sequence[str],
        items: Sequence[tuple[tuple[str, ...], list[float]]],
    ) -> list[str]:
        lines = [f"# HELP {name} {help}", f"# TYPE {name} {kind}"]
        lines += [f"{name}{_labels(labelnames, k)} {_number(v[0])}" for k, v in items]
        return lines


def _add(into: dict[tuple[str, ...], list[float]], key: tuple[str, ...], row: list[float]) -> None:
    mine = into.get(key)
    if mine is None:
        into[key] = list(row)
    else:
        for n, value in enumerate(row):
            mine[n] += value


def _histogram(
    name: str,
    help: str,
    labelnames: Sequence[str],
    rows: dict[tuple[str, ...], list[float]],
    bounds: Sequence[float],
    *,
    sizes: int = 0,
) -> list[str]:
    """A histogram family from rows: latency (``sizes`` 0: the union buckets, rendered at
    ``bounds``, a subset of them) or a size histogram (its buckets at offset ``sizes``)."""
    lines = [f"# HELP {name} {help}", f"# TYPE {name} histogram"]
    for key, row in sorted(rows.items()):
        if sizes:
            counts = list(zip(bounds, row[sizes : sizes + len(bounds)], strict=True))
            total = row[_RECV] if sizes == _RSIZE else row[_SENT]
        else:
            counts = list(zip(_LATENCY_BOUNDS, row[1 : 1 + _NL], strict=True))
            total = row[_SUM]
        wanted = set(bounds)
        running = 0.0
        for bound, count in counts:
            running += count
            if bound in wanted:
                le = _labels(labelnames, key, f'le="{_number(bound)}"')
                lines.append(f"{name}_bucket{le} {_number(running)}")
        lines.append(f"{name}_bucket{_labels(labelnames, key, _INF)} {_number(row[0])}")
        lines.append(f"{name}_sum{_labels(labelnames, key)} {_number(total)}")
        lines.append(f"{name}_count{_labels(labelnames, key)} {_number(row[0])}")
    return lines


_HANDLER_KEYS = {route: (handler,) for route, handler in DISTRIBUTION_HANDLERS.items()}


class _InFlight(Gauge):
    """``dockyard_http_requests_in_flight``: the sum of ``registry_http_in_flight_requests``
    (every /v2/ route has a distribution handler name), so a request updates one gauge."""

    def __init__(self) -> None:
        super().__init__("dockyard_http_requests_in_flight", "/v2/ requests being answered now.")
        self.of: Gauge | None = None

    def snapshot(self) -> dict[tuple[str, ...], list[float]]:
        total = sum(v[0] for v in self.of.snapshot().values()) if self.of is not None else 0.0
        return {(): [total]}

    def value(self, *labels: str) -> float:
        return self.snapshot()[()][0]


class RegistryMetrics:
    """The registry server's metrics, with one call per event the server reports."""

    content_type = CONTENT_TYPE

    def __init__(self, version: str = "") -> None:
        self._request_rows: dict[tuple[str, str, int], list[float]] = {}
        r = self.registry = MetricsRegistry()
        self.build_info = r.gauge(
            "dockyard_build_info",
            "Always 1; the version label says which dockyard.",
            ["version"],
            aggregate="max",
        )
        self.build_info.set(1, version)
        #: dockyard_http_requests_total, …_request_duration_seconds, …_{request,response}_bytes_total
        #: and distribution's registry_http_requests_total, …_request_duration_seconds,
        #: …_request_size_bytes, …_response_size_bytes, from one row per kind of request
        self.requests = r.register(RequestStats())
        self.in_flight = r.register(_InFlight())  # the sum of d_in_flight's series
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
        self.d_in_flight = r.gauge(
            "registry_http_in_flight_requests", "The in-flight HTTP requests", ["handler"]
        )
        self.in_flight.of = self.d_in_flight
        for handler in ("base", "blob", "blob_upload", "blob_upload_chunk", "catalog", "manifest"):
            self.d_in_flight.set(0, handler)  # as distribution: its routes' series from the start
        self.d_in_flight.set(0, "tags")
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
        row = self._request_rows.get((method, route, status))
        if row is None:
            row = self._row(method, route, status)
        self.requests.observe(row, seconds, received, sent)

    def request_started(self, route: str) -> None:
        """A /v2/ request matched ``route`` and its handler starts (see :meth:`request_ended`)."""
        key = _HANDLER_KEYS.get(route)
        if key is not None:
            self.d_in_flight.add(key, 1.0)

    def request_ended(self, route: str) -> None:
        """The request :meth:`request_started` counted was answered."""
        key = _HANDLER_KEYS.get(route)
        if key is not None:
            self.d_in_flight.add(key, -1.0)

    def _row(self, method: str, route: str, status: int) -> list[float]:
        """The row of one kind of request, its label values checked once and remembered."""
        label = method if method in _METHODS else method.upper()
        if label not in _METHODS:
            label = "OTHER"
        row = self.requests.row(self.requests.key((label, route, str(status))))
        if len(self._request_rows) >= 4096:  # bounded: routes are names, statuses few
            self._request_rows.clear()
        self._request_rows[(method, route, status)] = row
        return row

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
