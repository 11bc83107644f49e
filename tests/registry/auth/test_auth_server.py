"""htpasswd auth, metrics and the access log through a real ``dockyard registry serve`` process,
configured with registry:2's environment variables and a file made by ``dockyard htpasswd``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra import BuiltImage, DockerDaemon, run_dockyard
from _infra.registry_server import free_port, start_registry

pytestmark = pytest.mark.docker


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_htpasswd_auth_docker_login_push_pull_metrics_and_access_log(
    tmp_path: Path, dockerd: DockerDaemon, busybox_image: BuiltImage
) -> None:
    htpasswd = tmp_path / "auth" / "htpasswd"
    htpasswd.parent.mkdir()
    run_dockyard("htpasswd", "-Bbc", htpasswd, "alice", "s3cret", root=tmp_path)
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
        "REGISTRY_AUTH_HTPASSWD_PATH": os.fspath(htpasswd),
        "REGISTRY_LOG_FORMATTER": "json",
        "REGISTRY_HTTP_DEBUG_ADDR": f"127.0.0.1:{free_port()}",
    }
    with start_registry(tmp_path / "data", env=env) as server:
        v2 = f"{server.url}/v2/"
        anonymous = httpx.get(v2)
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Basic realm="Registry Realm"'
        assert anonymous.json()["errors"][0]["code"] == "UNAUTHORIZED"
        wrong = httpx.get(f"{server.url}/v2/_catalog", auth=("alice", "nope"))
        assert wrong.status_code == 401 and "www-authenticate" in wrong.headers
        unknown = httpx.get(v2, auth=("mallory", "s3cret"))
        assert unknown.status_code == 401
        assert httpx.get(v2, auth=("alice", "s3cret")).status_code == 200

        docker_env = {"DOCKER_CONFIG": os.fspath(tmp_path / "docker-config")}
        (tmp_path / "docker-config").mkdir()
        target = f"{server.host}/secure/busybox:v1"
        dockerd.run("tag", busybox_image.ref, target)
        refused = dockerd.run("push", target, env=docker_env, check=False)
        assert refused.returncode != 0
        assert "no basic auth credentials" in refused.stdout + refused.stderr
        bad = dockerd.run(
            "login", "-u", "alice", "--password-stdin", server.host,
            input="wrong\n", env=docker_env, check=False,
        )  # fmt: skip
        assert bad.returncode != 0
        login = dockerd.run(
            "login", "-u", "alice", "--password-stdin", server.host,
            input="s3cret\n", env=docker_env,
        )  # fmt: skip
        assert "Login Succeeded" in login.stdout
        dockerd.run("push", target, env=docker_env)
        dockerd.run("rmi", target)
        dockerd.run("pull", target, env=docker_env)
        pulled = dockerd.run("image", "inspect", "--format", "{{.Id}}", target).stdout.strip()
        assert pulled == busybox_image.id
        dockerd.run("rmi", target)

        # a user added while the registry runs can log in at once (the file is re-read)
        run_dockyard("htpasswd", "-Bb", htpasswd, "bob", "b0b", root=tmp_path)
        assert httpx.get(v2, auth=("bob", "b0b")).status_code == 200

        # auth is on: metrics only on the debug address, not on the API port
        assert httpx.get(f"{server.url}/metrics", auth=("alice", "s3cret")).status_code == 404
        metrics = httpx.get(f"http://{env['REGISTRY_HTTP_DEBUG_ADDR']}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert sample(text, "dockyard_http_requests_total", code="401") >= 4
        assert sample(text, "dockyard_http_requests_total", method="PUT", route="manifest") >= 1
        assert sample(text, "dockyard_uploads_completed_total") >= 2  # config and layer
        assert sample(text, "dockyard_http_request_bytes_total", route="upload") > 0

    entries = [json.loads(x) for x in server.log.read_text().splitlines() if x.startswith("{")]
    assert entries, server.log.read_text()[-2000:]
    assert {"time", "remote", "method", "path", "status", "bytes", "duration_ms"} <= set(entries[0])
    assert any(e["user"] == "alice" and e["method"] == "PUT" for e in entries)
    assert any(e["user"] is None and e["status"] == 401 for e in entries)
    assert all(e["user_agent"] for e in entries)
