"""registry:2's ``notifications.endpoints`` on a registry without projects: every manifest
push, pull and delete is POSTed to the endpoint as distribution's envelope, with the
endpoint's headers; ignored actions and media types are left out; a misspelt key stops
start-up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra.registry_server import ASGIClient, push_image
from _infra.webhook_sink import Received, WebhookReceiver
from dockyard.errors import InvalidArgument
from dockyard.registry._server import build_app
from dockyard.registry.config import load
from dockyard.registry.webhooks import DISTRIBUTION_EVENTS

CONFIG = """\
version: 0.1
storage:
  filesystem: {{rootdirectory: {root}}}
  delete: {{enabled: true}}
http: {{host: "https://registry.example:5000"}}
notifications:
  events: {{includereferences: true}}
  endpoints:
    - name: listener
      url: {url}/events
      headers: {{Authorization: [Bearer listener-token], X-Extra: [a, b]}}
      timeout: 2s
      threshold: 3
      backoff: 1s
    - name: no-pulls
      url: {url}/quiet
      ignore: {{actions: [pull]}}
    - name: off
      disabled: true
      url: {url}/never
"""


def events(received: list[Received]) -> list[dict[str, Any]]:
    """Every event of the envelopes received, in order."""
    return [e for r in received for e in r.json()["events"]]


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


def test_pushes_pulls_and_deletes_reach_the_endpoints_as_distribution_envelopes(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    path = tmp_path / "config.yml"
    path.write_text(CONFIG.format(root=tmp_path / "data", url=receiver.url))
    app = build_app(load(path, {}), access_log=False)
    try:
        with ASGIClient(app) as client:
            pushed = push_image(client, "team/app", "v1")
            assert client.get("/v2/team/app/manifests/v1").status_code == 200
            r = client.delete(f"/v2/team/app/manifests/{pushed.digest}")
            assert r.status_code == 202
            # listener: push, pull, delete; no-pulls: push, delete (several events may share
            # one envelope, as distribution sends them)
            deadline = time.monotonic() + 20
            while len(events(receiver.received)) < 5 and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        for stop in app.on_shutdown:
            stop()
        app.registry.close()
    time.sleep(0.2)
    got = list(receiver.received)
    assert len(events(got)) == 5
    listener = events([g for g in got if g.path == "/events"])
    quiet = events([g for g in got if g.path == "/quiet"])
    assert not [g for g in got if g.path == "/never"]
    assert [e["action"] for e in listener] == ["push", "pull", "delete"]
    assert [e["action"] for e in quiet] == ["push", "delete"]
    for item in got:
        assert item.headers["content-type"] == DISTRIBUTION_EVENTS
    for item in (g for g in got if g.path == "/events"):
        assert item.headers["authorization"] == "Bearer listener-token"
        assert item.headers["x-extra"] == "a, b"
    push, pull, delete = listener
    assert set(push) == {"id", "timestamp", "action", "target", "request", "actor", "source"}
    assert push["target"]["repository"] == "team/app"
    assert push["target"]["digest"] == pushed.digest and push["target"]["tag"] == "v1"
    assert push["target"]["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert push["target"]["size"] == push["target"]["length"] == len(pushed.manifest)
    assert push["target"]["url"] == (
        f"https://registry.example:5000/v2/team/app/manifests/{pushed.digest}"
    )
    assert push["source"]["addr"] == "registry.example:5000"
    assert pull["target"]["digest"] == pushed.digest  # the tag, resolved
    assert pull["request"]["method"] == "GET"
    assert delete["target"]["digest"] == pushed.digest
    assert push["timestamp"].endswith("Z")


def test_an_unknown_key_in_an_endpoint_stops_start_up(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        CONFIG.format(root=tmp_path / "data", url="http://127.0.0.1:9").replace(
            "threshold:", "treshold:"
        )
    )
    with pytest.raises(InvalidArgument, match="treshold"):
        load(path, {})
