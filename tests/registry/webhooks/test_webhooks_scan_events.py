"""The scanner's own SCANNING_COMPLETED and SCANNING_FAILED events, at a real HTTP receiver:
a projects-mode app with scanning on (in process, one scan thread, the crates.io advisories)
scans an image with a vulnerable crate and one whose layer is no archive; each delivery is
Harbor's default payload with the artifact's ``scan_overview`` (status, times, scanner, and
for the report its worst severity and counts, which agree with the artifact's report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra.harbor_api import check_created
from _infra.projects_registry import ADMIN_PASSWORD, basic, team_with_people
from _infra.registry_server import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    ASGIClient,
    AuthedClient,
    descriptor,
    push_blob,
    sha256,
)
from _infra.scan_hostile import image_config, tar_layer
from _infra.scanning_registry import scanning_app
from _infra.webhook_sink import WebhookReceiver, valid_signature
from dockyard.registry.webhooks import SIGNATURE_HEADER

pytestmark = pytest.mark.slow

API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
SECRET = "scan-events"
REPORT = "application/vnd.security.vulnerability.report; version=1.1"
CARGO_LOCK = b"""version = 3

[[package]]
name = "openssl"
version = "0.8.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"""


def _push(client: AuthedClient, repo: str, layer_blob: bytes, config: bytes) -> str:
    for blob in (config, layer_blob):
        push_blob(client, repo, blob)
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(config, OCI_CONFIG),
         "layers": [descriptor(layer_blob, OCI_LAYER)]}
    ).encode()  # fmt: skip
    r = client.put(f"/v2/{repo}/manifests/v1", content=manifest,
                   headers={"content-type": OCI_MANIFEST})  # fmt: skip
    assert r.status_code == 201, r.text
    return sha256(manifest)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ASGIClient, WebhookReceiver]]:
    with scanning_app(tmp_path) as (app, access), WebhookReceiver() as receiver:
        team_with_people(access)
        with ASGIClient(app) as client:
            body = {"name": "scans", "enabled": True,
                    "event_types": ["SCANNING_COMPLETED", "SCANNING_FAILED"],
                    "targets": [{"type": "http", "address": receiver.url,
                                 "payload_format": "Default"}], "secret": SECRET}  # fmt: skip
            r = client.post(f"{API}/projects/team/webhook/policies", json=body, headers=ADMIN)
            check_created(r, f"{API}/projects/team/webhook/policies")
            yield client, receiver


def _scan(client: ASGIClient, repo: str, digest: str) -> None:
    name = repo.partition("/")[2]
    r = client.post(f"{API}/projects/team/repositories/{name}/artifacts/{digest}/scan",
                    headers=ADMIN)  # fmt: skip
    assert r.status_code == 202, r.text


def test_a_scan_announces_its_report_and_a_failed_one_its_error(
    served: tuple[ASGIClient, WebhookReceiver],
) -> None:
    client, receiver = served
    admin = AuthedClient(client, ADMIN)
    lock = tar_layer([("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
                      ("app/Cargo.lock", CARGO_LOCK)])  # fmt: skip
    vulnerable = _push(admin, "team/app", lock.blob, image_config([lock]))
    garbage = b"this is not a gzip archive" * 40
    broken = _push(admin, "team/broken", garbage, image_config([tar_layer([("a", b"a")])]))
    _scan(client, "team/app", vulnerable)
    _scan(client, "team/broken", broken)

    got = receiver.wait_for(2, timeout=120)
    by_type: dict[str, Any] = {}
    for item in got:
        assert valid_signature(SECRET, item, SIGNATURE_HEADER)
        body = item.json()
        by_type[body["type"]] = body
    assert set(by_type) == {"SCANNING_COMPLETED", "SCANNING_FAILED"}

    done = by_type["SCANNING_COMPLETED"]["event_data"]
    [resource] = done["resources"]
    assert resource["digest"] == vulnerable
    assert done["repository"]["repo_full_name"] == "team/app"
    overview = resource["scan_overview"][REPORT]
    assert overview["scan_status"] == "Success" and overview["complete_percent"] == 100
    assert overview["scanner"]["name"] == "dockyard"
    assert overview["start_time"] <= overview["end_time"]
    # the counts are the artifact's report's, as the API serves it
    report = client.get(f"{API}/projects/team/repositories/app/artifacts/{vulnerable}"
                        "/additions/vulnerabilities", headers=ADMIN).json()[REPORT]  # fmt: skip
    found = report["vulnerabilities"]
    assert any(v["package"] == "openssl" for v in found)
    assert overview["summary"]["total"] == len(found) > 0
    assert overview["severity"] == report["severity"]
    by_severity: dict[str, int] = {}
    for v in found:
        by_severity[v["severity"]] = by_severity.get(v["severity"], 0) + 1
    assert overview["summary"]["summary"] == by_severity
    assert overview["summary"]["fixable"] == sum(1 for v in found if v["fix_version"])

    failed = by_type["SCANNING_FAILED"]["event_data"]
    [resource] = failed["resources"]
    assert resource["digest"] == broken
    overview = resource["scan_overview"][REPORT]
    assert overview["scan_status"] == "Error"
    assert overview["message"]
    assert "summary" not in overview
