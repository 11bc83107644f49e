"""``/metrics`` and the detailed health are served on ``http.debug.addr`` (registry:2's debug
server), never on the API port of a registry with auth; ``/healthz`` on the API port says
up or down and nothing more."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra.registry_server import free_port, start_registry
from dockyard import __version__
from dockyard.registry.auth import htpasswd_line


def _auth_env(tmp_path: Path) -> dict[str, str]:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(htpasswd_line("alice", "s3cret", cost=4) + "\n")
    return {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
    }


@pytest.mark.slow
def test_metrics_on_the_debug_address_not_on_the_api_port(tmp_path: Path) -> None:
    debug = f"127.0.0.1:{free_port()}"
    env = {**_auth_env(tmp_path), "REGISTRY_HTTP_DEBUG_ADDR": debug}
    with start_registry(tmp_path / "data", env=env) as server:
        assert httpx.get(f"{server.url}/v2/", auth=("alice", "s3cret")).status_code == 200
        for auth in (None, ("alice", "s3cret")):
            page = httpx.get(f"{server.url}/metrics", auth=auth)
            assert page.status_code == 404, page.text
            assert "dockyard_http_requests_total" not in page.text
        health = httpx.get(f"{server.url}/healthz")
        assert health.status_code == 200
        assert health.content == b'{"status":"ok"}'  # up or down, nothing more

        metrics = httpx.get(f"http://{debug}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        names = {s.name for f in text_string_to_metric_families(metrics.text) for s in f.samples}
        assert "dockyard_http_requests_total" in names
        detail = httpx.get(f"http://{debug}/healthz")
        assert detail.status_code == 200
        body = detail.json()
        assert body["status"] == "ok" and body["version"] == __version__
        assert body["checks"]["database"] == "ok"
        assert httpx.get(f"http://{debug}/v2/").status_code == 404  # no API there


@pytest.mark.slow
def test_with_auth_and_no_debug_address_metrics_are_not_served(tmp_path: Path) -> None:
    with start_registry(tmp_path / "data", env=_auth_env(tmp_path)) as server:
        for auth in (None, ("alice", "s3cret")):
            assert httpx.get(f"{server.url}/metrics", auth=auth).status_code == 404
    assert "http.debug.addr" in server.log.read_text()
