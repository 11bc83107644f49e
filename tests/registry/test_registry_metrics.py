"""The Prometheus registry: exposition format checked by the reference parser and by hand."""

from __future__ import annotations

import re
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dockyard.registry.metrics import (
    CONTENT_TYPE,
    MetricsRegistry,
    RegistryMetrics,
)

# One sample line of the text format 0.0.4: name, optional {labels}, value.
_SAMPLE = re.compile(
    r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? '
    r"(-?[0-9.e+-]+|\+Inf|-Inf|NaN)$"
)


def parse(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    families = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = [(s.name, s.labels, s.value) for s in family.samples]
    return families


def test_render_is_valid_text_format() -> None:
    metrics = RegistryMetrics(version="1.2.3")
    metrics.observe_request("GET", "manifest", 200, 0.003, sent=1234)
    metrics.observe_request("PUT", "upload", 201, 0.2, received=5000)
    metrics.observe_request("BREW", "other", 405, 0.0001)
    metrics.upload_started()
    metrics.upload_completed()
    metrics.upload_failed("digest")
    metrics.gc_finished(1.5, blobs_deleted=3, bytes_deleted=4096)
    text = metrics.render().decode()
    assert CONTENT_TYPE == metrics.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or _SAMPLE.match(line), line
    families = parse(text)
    requests = families["dockyard_http_requests"]
    assert (
        "dockyard_http_requests_total",
        {"method": "GET", "route": "manifest", "code": "200"},
        1.0,
    ) in requests
    assert (
        "dockyard_http_requests_total",
        {"method": "OTHER", "route": "other", "code": "405"},
        1.0,
    ) in requests
    assert families["dockyard_build_info"] == [("dockyard_build_info", {"version": "1.2.3"}, 1.0)]
    assert families["dockyard_http_response_bytes"] == [
        ("dockyard_http_response_bytes_total", {"route": "manifest"}, 1234.0)
    ]
    assert families["dockyard_http_request_bytes"] == [
        ("dockyard_http_request_bytes_total", {"route": "upload"}, 5000.0)
    ]
    assert families["dockyard_uploads_failed"] == [
        ("dockyard_uploads_failed_total", {"reason": "digest"}, 1.0)
    ]
    assert families["dockyard_gc_blobs_deleted"][0][2] == 3.0
    assert families["dockyard_gc_runs"][0][2] == 1.0
    assert families["dockyard_uploads_started"][0][2] == 1.0


def test_histogram_buckets_are_cumulative() -> None:
    registry = MetricsRegistry()
    hist = registry.histogram("op_seconds", "Op time.", ["op"], buckets=(0.1, 1.0, 10.0))
    for value in (0.05, 0.5, 0.5, 5.0, 50.0):
        hist.observe(value, "x")
    samples = parse(registry.render().decode())["op_seconds"]
    buckets = {s[1]["le"]: s[2] for s in samples if s[0] == "op_seconds_bucket"}
    assert buckets == {"0.1": 1, "1": 3, "10": 4, "+Inf": 5}
    assert ("op_seconds_count", {"op": "x"}, 5.0) in samples
    assert ("op_seconds_sum", {"op": "x"}, 56.05) in [
        (n, labels, round(v, 6)) for n, labels, v in samples
    ]


def test_label_values_and_help_are_escaped() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("odd_total", "Help with \\ and\nnewline.", ["v"])
    counter.inc(2, 'quote " backslash \\ newline \n end')
    gauge = registry.gauge("temperature", "A gauge.")
    gauge.set(-1.5)
    gauge.inc(0.25)
    text = registry.render().decode()
    assert "# HELP odd_total Help with \\\\ and\\nnewline." in text
    families = parse(text)
    assert families["odd"] == [("odd_total", {"v": 'quote " backslash \\ newline \n end'}, 2.0)]
    assert families["temperature"] == [("temperature", {}, -1.25)]


def test_misuse_is_refused() -> None:
    registry = MetricsRegistry()
    counter = registry.counter("c_total", "C.", ["a"])
    with pytest.raises(ValueError, match="takes labels"):
        counter.inc(1)
    with pytest.raises(ValueError, match="cannot go down"):
        counter.inc(-1, "x")
    with pytest.raises(ValueError, match="already registered"):
        registry.counter("c_total", "again")
    with pytest.raises(ValueError, match="not valid"):
        registry.gauge("bad-name", "x")
    with pytest.raises(ValueError, match="'le'"):
        registry.histogram("h", "x", ["le"])


def test_counts_are_exact_under_threads() -> None:
    metrics = RegistryMetrics()

    def worker() -> None:
        for _ in range(2000):
            metrics.observe_request("GET", "blob", 200, 0.001, sent=10)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert metrics.requests.value("GET", "blob", "200") == 16000
    families = parse(metrics.render().decode())
    count = [
        s for s in families["dockyard_http_request_duration_seconds"] if s[0].endswith("_count")
    ]
    assert count == [
        (
            "dockyard_http_request_duration_seconds_count",
            {"method": "GET", "route": "blob"},
            16000.0,
        )
    ]
    assert families["dockyard_http_response_bytes"][0][2] == 160000.0


def test_v2_routes_also_count_in_distributions_families() -> None:
    metrics = RegistryMetrics()
    metrics.request_started("uploads")
    in_flight = parse(metrics.render().decode())["registry_http_in_flight_requests"]
    assert ("registry_http_in_flight_requests", {"handler": "blob_upload"}, 1.0) in in_flight
    assert metrics.in_flight.value() == 1
    metrics.observe_request("POST", "uploads", 202, 0.003, received=10)
    metrics.request_ended("uploads")
    metrics.observe_request("GET", "manifest", 404, 0.02, sent=2000)
    metrics.observe_request("GET", "console", 200, 0.02, sent=2000)  # not a /v2/ route
    families = parse(metrics.render().decode())
    assert {tuple(sorted(s[1].items())) for s in families["registry_http_requests"]} == {
        (("code", "202"), ("handler", "blob_upload"), ("method", "post")),
        (("code", "404"), ("handler", "manifest"), ("method", "get")),
    }
    assert all(s[2] == 0 for s in families["registry_http_in_flight_requests"])
    assert metrics.in_flight.value() == 0
    sizes = families["registry_http_response_size_bytes"]
    buckets = {
        s[1]["le"]: s[2] for s in sizes if s[1].get("handler") == "manifest" and "le" in s[1]
    }
    assert buckets["1024"] == 0 and buckets["2048"] == 1 and buckets["+Inf"] == 1
    latency = families["registry_http_request_duration_seconds"]
    bounds = {s[1]["le"] for s in latency if "le" in s[1]}
    assert bounds == {
        "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "25", "60",
        "+Inf",
    }  # fmt: skip
