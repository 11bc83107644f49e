"""The agent as a registry mirror for real clients: ``dockyard pull`` and skopeo pull an
image through it from an htpasswd registry, the agent's own credentials carrying every
request (its web seed included); the blobs it serves and keeps are the exact ones."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from _infra._cli import run_dockyard
from _infra._process import run_command
from _infra.registry_server import RegistryProcess, make_manifest, push_blob, sha256, start_registry
from dockyard.client import Credentials
from dockyard.registry.auth import htpasswd_line

pytest.importorskip("libtorrent")

from dockyard.p2p.agent import Agent, AgentConfig

pytestmark = pytest.mark.slow

USER, PASSWORD = "node", "node-secret"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Setup:
    registry: RegistryProcess
    agent: Agent
    mirror: str  # host:port of the agent
    blobs: dict[str, int]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("mirror")
    (work / "htpasswd").write_text(htpasswd_line(USER, PASSWORD, cost=4) + "\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "nodes",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(work / "htpasswd"),
    }
    with start_registry(work / "registry", env=env) as registry:
        with httpx.Client(base_url=registry.url, auth=(USER, PASSWORD), timeout=60) as http:
            layers = [os.urandom((2 << 20) + 12345), os.urandom(3000)]  # swarm; direct
            rootfs = {"type": "layers", "diff_ids": [sha256(b) for b in layers]}
            config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs}).encode()
            for blob in (config, *layers):
                push_blob(http, "team/app", blob)
            manifest = make_manifest(config, layers)
            r = http.put(
                "/v2/team/app/manifests/v1",
                content=manifest,
                headers={"content-type": OCI_MANIFEST},
            )
            assert r.status_code == 201
        agent = Agent(
            AgentConfig(
                registry=registry.url,
                data=work / "agent",
                listen="127.0.0.1:0",
                peer_listen="127.0.0.1:0",
                credentials=Credentials(USER, PASSWORD),
                timeout=120,
            )
        )
        agent.start()
        try:
            blobs = {sha256(b): len(b) for b in (config, *layers)}
            yield Setup(registry, agent, f"127.0.0.1:{agent.port}", blobs)
        finally:
            agent.close()


def test_dockyard_pull_through_the_agent(setup: Setup, tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_dockyard("pull", f"{setup.mirror}/team/app:v1", root=store)
    images = run_dockyard("images", "--format", "json", root=store).stdout
    assert f"{setup.mirror}/team/app" in images
    for digest, size in setup.blobs.items():
        if size >= 1 << 20:  # through the swarm: kept, verified, for peers
            kept = setup.agent.swarm.have(digest)
            assert kept is not None
            assert "sha256:" + hashlib.sha256(kept.read_bytes()).hexdigest() == digest
    metrics = httpx.get(f"http://{setup.mirror}/metrics").text
    assert "dockyard_p2p_webseed_bytes_total 0" not in metrics
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(metrics)
        for s in f.samples
    }

    def value(name: str, **labels: str) -> float:
        return values[(name, tuple(sorted(labels.items())))]

    # bytes by source (peers vs the origin registry) agree with the single counters
    for source, single in (("peer", "peer"), ("webseed", "webseed"), ("registry", "registry")):
        assert value("dockyard_p2p_received_bytes_total", source=source) == value(
            f"dockyard_p2p_{single}_bytes_total"
        )
    assert value("dockyard_p2p_received_bytes_total", source="webseed") > 0  # no peers here
    large = sum(1 for size in setup.blobs.values() if size >= 1 << 20)
    small = len(setup.blobs) - large
    assert large and small
    assert value("dockyard_p2p_blobs_fetched_total", source="swarm") == large  # once each
    assert value("dockyard_p2p_blobs_fetched_total", source="registry") >= small
    assert value("dockyard_p2p_torrents") == large
    assert value("dockyard_p2p_pieces") >= large


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="needs skopeo")
def test_skopeo_copies_from_the_agent_byte_for_byte(setup: Setup, tmp_path: Path) -> None:
    run_command(
        ["skopeo", "copy", "--src-tls-verify=false",
         f"docker://{setup.mirror}/team/app:v1", f"dir:{tmp_path / 'copy'}"]
    )  # fmt: skip
    for digest, size in setup.blobs.items():
        path = tmp_path / "copy" / digest.removeprefix("sha256:")
        assert path.stat().st_size == size
        assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_the_web_seed_route_needs_the_agents_secret(setup: Setup) -> None:
    digest = max(setup.blobs, key=lambda d: setup.blobs[d])
    r = httpx.get(f"http://{setup.mirror}/_dockyard/seed/guess/team/app/{digest}")
    assert r.status_code == 404
    r = httpx.get(setup.agent.seed_url("team/app", digest), headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100


def test_an_unknown_image_is_the_registrys_answer(setup: Setup) -> None:
    r = httpx.get(f"http://{setup.mirror}/v2/team/none/manifests/v1")
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN", "NOT_FOUND")


def _served(mirror: str) -> float:
    page = httpx.get(f"http://{mirror}/metrics").text
    return sum(
        s.value
        for f in text_string_to_metric_families(page)
        for s in f.samples
        if s.name == "dockyard_p2p_blobs_served_total"
    )


def test_dockyard_pull_of_the_registrys_name_goes_through_the_agent_as_its_mirror(
    setup: Setup, tmp_path: Path
) -> None:
    """``dockyard pull <registry>/team/app:v1 --registries-config`` whose ``mirrors`` name the
    agent for that (non-Hub) registry: the image is the registry's, the agent serves every
    blob. The client has no credentials for the registry, so the registry itself would refuse
    it: without the mirror the same pull fails."""
    ref = f"{setup.registry.host}/team/app:v1"
    env = {"DOCKER_CONFIG": str(tmp_path / "docker")}  # no credentials for the registry
    direct = run_dockyard("pull", ref, root=tmp_path / "direct", env=env, check=False)
    assert direct.returncode != 0 and "authentication required" in direct.stderr, direct.stderr
    config = tmp_path / "registries.json"
    config.write_text(json.dumps({"mirrors": {setup.registry.host: [f"http://{setup.mirror}"]}}))
    before = _served(setup.mirror)
    store = tmp_path / "store"
    run_dockyard("pull", "--registries-config", str(config), ref, root=store, env=env)
    assert _served(setup.mirror) - before == len(setup.blobs)  # every blob, from the agent
    listed = run_dockyard("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}",
                          root=store, env=env).stdout.split()  # fmt: skip
    config_digest = min(setup.blobs, key=lambda d: setup.blobs[d])  # the image's config
    assert listed == [ref, config_digest]  # the registry's name; the pushed image
