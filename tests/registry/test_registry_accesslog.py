"""Access log lines: JSON objects with every field, and Apache's combined text format."""

from __future__ import annotations

import io
import json
import re
import threading
from datetime import UTC, datetime

import pytest

from dockyard.registry.accesslog import (
    AccessEntry,
    AccessLog,
    format_combined,
    format_json,
    new_request_id,
)

WHEN = datetime(2026, 11, 28, 12, 20, 8, 748354, tzinfo=UTC)


def entry(**changes: object) -> AccessEntry:
    fields: dict[str, object] = {
        "method": "GET",
        "path": "/v2/library/busybox/manifests/latest",
        "status": 200,
        "bytes": 527,
        "duration_ms": 1.23456,
        "remote": "127.0.0.1",
        "user": "alice",
        "user_agent": "docker/27.0 go/go1.22",
        "request_id": "abc-123",
        "time": WHEN,
    }
    fields.update(changes)
    return AccessEntry(**fields)  # type: ignore[arg-type]


def test_json_line_has_every_field() -> None:
    record = json.loads(format_json(entry()))
    assert record == {
        "time": "2026-11-28T12:20:08.748Z",
        "remote": "127.0.0.1",
        "method": "GET",
        "path": "/v2/library/busybox/manifests/latest",
        "status": 200,
        "bytes": 527,
        "bytes_received": 0,
        "duration_ms": 1.235,
        "user": "alice",
        "user_agent": "docker/27.0 go/go1.22",
        "referer": None,
        "request_id": "abc-123",
        "protocol": "HTTP/1.1",
    }
    assert "\n" not in format_json(entry(path="/v2/a\nb"))


def test_combined_format_matches_registry2s_access_log() -> None:
    line = format_combined(entry())
    assert line == (
        "127.0.0.1 - alice [28/Nov/2026:12:20:08 +0000] "
        '"GET /v2/library/busybox/manifests/latest HTTP/1.1" 200 527 "-" '
        '"docker/27.0 go/go1.22" 1.235 abc-123'
    )
    anonymous = format_combined(entry(user=None, user_agent=None, referer="http://x/"))
    assert anonymous.startswith("127.0.0.1 - - [")
    assert '"http://x/" "-"' in anonymous


def test_combined_format_cannot_be_forged() -> None:
    line = format_combined(entry(path='/v2/"x\n127.0.0.1 - admin', user="a b\nc"))
    assert "\n" not in line
    assert '\\"x\\x0a127.0.0.1' in line
    assert " a_b_c " in line


def test_request_ids() -> None:
    assert new_request_id("client-id-1") == "client-id-1"
    generated = new_request_id(None)
    assert re.fullmatch(r"[0-9a-f-]{36}", generated)
    assert new_request_id("bad\nid") != "bad\nid"
    assert len(new_request_id("x" * 500)) == 36
    assert entry().request_id == "abc-123"
    assert (
        AccessEntry("GET", "/", 200, 0, 0.1).request_id
        != AccessEntry("GET", "/", 200, 0, 0.1).request_id
    )


@pytest.mark.parametrize("fmt", ["json", "combined"])
def test_access_log_writes_whole_lines_from_many_threads(fmt: str) -> None:
    stream = io.StringIO()
    log = AccessLog(stream, fmt)  # type: ignore[arg-type]

    def worker(n: int) -> None:
        for i in range(200):
            log.write(entry(path=f"/v2/r{n}/blobs/{i}", user_agent="x" * 300))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1200
    if fmt == "json":
        assert {json.loads(x)["status"] for x in lines} == {200}
    else:
        assert all(x.startswith("127.0.0.1 - alice [") and x.endswith(" abc-123") for x in lines)


def test_access_log_off_and_bad_format() -> None:
    AccessLog(None).write(entry())  # nothing to write to: no error
    with pytest.raises(ValueError, match="json or combined"):
        AccessLog(io.StringIO(), "xml")  # type: ignore[arg-type]
