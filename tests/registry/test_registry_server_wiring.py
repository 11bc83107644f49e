"""build_app: configuration wired to auth (401 + challenge), metrics and the data directory."""

from __future__ import annotations

import base64
from pathlib import Path

from _infra.registry_server import ASGIClient, error_code, push_image
from dockyard.registry import build_app
from dockyard.registry.auth import htpasswd_line
from dockyard.registry.config import load


def test_htpasswd_auth_and_metrics(tmp_path: Path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(htpasswd_line("alice", "s3cret", cost=4) + "\n")
    config = load(
        None,
        {
            "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
            "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "data"),
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
        },
    )
    app = build_app(config, access_log=False)
    good = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    bad = "Basic " + base64.b64encode(b"alice:wrong").decode()
    with ASGIClient(app) as client:
        for headers in ({}, {"authorization": bad}, {"authorization": "Bearer x"}):
            r = client.get("/v2/", headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == 'Basic realm="Registry Realm"'
            assert error_code(r) == "UNAUTHORIZED"
        assert client.get("/v2/_catalog").status_code == 401
        assert client.get("/").status_code == 200  # the page outside the API is public
        client.client.headers["authorization"] = good
        assert client.get("/v2/").status_code == 200
        img = push_image(client, "app")
        assert client.delete(f"/v2/app/manifests/{img.digest}").status_code == 202
        # auth is on: metrics are served on http.debug.addr only (test_registry_debug_address.py)
        assert client.get("/metrics").status_code == 404
    app.registry.close()
    assert (tmp_path / "data" / "registry.db").exists()
