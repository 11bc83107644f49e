"""The repository page's columns beyond the artifact list, in-process: each artifact's
platforms (an image's from its config, an index's from its manifest list), whether it is
signed (a cosign signature tag), when it was pushed and pulled; the scan column stays empty
on a registry that does not scan."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import (
    close_app,
    projects_app,
    push_cosign_signature,
    push_with_history,
    signed_in,
    table_rows,
)
from _infra.projects_registry import PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient, sha256

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
COLUMNS = ["Tags", "Digest", "Platforms", "Size", "Pushed", "Pulled", "Signed", "Scanned"]


@dataclass
class Served:
    client: ASGIClient
    signed: str
    plain: str
    index: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-repository") / "data"
    app, access = projects_app(root)
    team_with_people(access)
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        signed = push_with_history(dev, "team/app", "v1")
        plain = push_with_history(dev, "team/app", "v2")
        push_cosign_signature(dev, "team/app", signed.digest)
        # an index of two images, in a repository of its own (its images are not listed
        # apart from it, as Harbor lists them)
        amd = push_with_history(dev, "team/multi", "amd")
        arm = push_with_history(dev, "team/multi", "arm")
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": i.digest,
             "size": len(i.manifest), "platform": p}
            for i, p in ((amd, {"os": "linux", "architecture": "amd64"}),
                         (arm, {"os": "linux", "architecture": "arm64", "variant": "v8"}))]}
        ).encode()  # fmt: skip
        r = dev.put("/v2/team/multi/manifests/multi", content=index,
                    headers={"content-type": OCI_INDEX})  # fmt: skip
        assert r.status_code == 201, r.text
        signed_in(client, "guest", PASSWORD)  # a guest reads the repository
        yield Served(client, signed.digest, plain.digest, sha256(index))
    close_app(app)


def _rows(served: Served, name: str = "app") -> dict[str, list[str]]:
    page = served.client.get("/projects/team/repository", params={"name": name})
    assert page.status_code == 200, page.text
    assert all(f">{c}</th>" in page.text for c in COLUMNS), page.text
    return {row[0]: row for row in table_rows(page.text, "Artifacts")}


def test_platforms_signatures_and_times(served: Served) -> None:
    rows = _rows(served)
    assert set(rows) >= {"v1", "v2"}, rows
    v1, v2 = rows["v1"], rows["v2"]
    multi = _rows(served, "multi")["multi"]
    assert v1[2] == "linux/amd64" and v2[2] == "linux/amd64"
    assert multi[2] == "linux/amd64, linux/arm64/v8"
    assert v1[6] == "signed" and v2[6] == "no" and multi[6] == "no"
    assert all(r[4].startswith("20") for r in (v1, v2, multi))  # pushed: a time
    assert v1[5] == "never"  # nothing pulled it
    assert v1[7] == v2[7] == ""  # this registry does not scan


def test_a_signature_by_referrer_counts_too(served: Served) -> None:
    """An OCI referrer whose artifact type is a cosign signature marks its subject signed."""
    payload = b"{}"
    config = b"{}"
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    for blob in (config, payload):
        r = dev.post("/v2/team/app/blobs/uploads/", params={"digest": sha256(blob)},
                     content=blob)  # fmt: skip
        assert r.status_code == 201, r.text
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                    "digest": sha256(payload), "size": len(payload)}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": served.plain, "size": 1}}).encode()  # fmt: skip
    r = dev.put(f"/v2/team/app/manifests/{sha256(manifest)}", content=manifest,
                headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert _rows(served)["v2"][6] == "signed"


def test_a_pull_shows_its_time_in_the_api_and_on_the_page(served: Served) -> None:
    dev = AuthedClient(served.client, basic("dev", PASSWORD))
    r = dev.get("/v2/team/app/manifests/v2",
                headers={"accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 200
    api = "/api/v2.0/projects/team/repositories/app/artifacts"
    deadline = time.monotonic() + 15  # the recorder writes the pulls it noted every second
    while True:
        found = dev.get(f"{api}/v2").json()["pull_time"]
        if not found.startswith("0001-") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert found.startswith("20"), found
    assert dev.get(f"{api}/v1").json()["pull_time"].startswith("0001-")  # never pulled
    rows = _rows(served)
    assert rows["v2"][5] == found and rows["v1"][5] == "never", rows
