"""N agents in their own network namespaces pull one image at the same moment.

A bridge, four namespaces on 20 Mbit/s veths (``tc``), opentracker and an htpasswd-protected
registry on the bridge's address, one ``dockyard p2p agent`` per namespace: every agent ends
with the exact blobs (digest-checked by the puller and by the agent), the registry serves
under 2 copies of the image's bytes (4 without p2p), agents killed mid-transfer do not stop
the others (and the registry still serves under 2 copies),
and preheating leaves an image seeded on the agents named.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from _infra import p2p_net
from _infra._cli import dockyard_executable
from _infra.registry_server import make_manifest, push_blob, sha256
from dockyard.registry.auth import htpasswd_line

pytestmark = [
    pytest.mark.slow,
    pytest.mark.privileged,
    pytest.mark.skipif(p2p_net.available() is not None, reason=str(p2p_net.available())),
]

AGENTS = 4
RATE_MBIT = 20
USER, PASSWORD = "fleet", "fleet-secret"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Fleet:
    net: p2p_net.Fabric
    tracker: p2p_net.Tracker
    registry: str
    agents: list[p2p_net.AgentProcess]
    http: httpx.Client

    def blob_bytes_served(self) -> float:
        # with auth on, registry:2's rule: metrics only on the debug address
        response = httpx.get(f"http://{self.net.host_ip}:5001/metrics")
        assert response.status_code == 200
        page = response.text
        assert "dockyard_http_response_bytes_total" in page
        return p2p_net.metric(page, "dockyard_http_response_bytes_total", 'route="blob"')


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    work = tmp_path_factory.mktemp("p2p")
    htpasswd = work / "htpasswd"
    htpasswd.write_text(htpasswd_line(USER, PASSWORD, cost=4) + "\n")
    with contextlib.ExitStack() as stack:
        net = stack.enter_context(p2p_net.fabric(AGENTS, RATE_MBIT))
        tracker = stack.enter_context(p2p_net.tracker(net.host_ip, 6969, work / "tracker"))
        env = {
            "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_AUTH_HTPASSWD_REALM": "fleet",
            "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
            "REGISTRY_P2P_TRACKERS": tracker.announce,
            "REGISTRY_HTTP_DEBUG_ADDR": f"{net.host_ip}:5001",
        }
        url = stack.enter_context(p2p_net.registry(f"{net.host_ip}:5000", work / "registry", env))
        started = stack.enter_context(
            p2p_net.agents(net, url, work, username=USER, password=PASSWORD)
        )
        http = stack.enter_context(httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=60))
        yield Fleet(net, tracker, url, started, http)


def push(fleet: Fleet, name: str, layer_sizes: list[int], seed: str) -> dict[str, int]:
    """An image of random layers, its layers' torrents on the tracker's whitelist; its
    blobs' digests and sizes."""
    http = fleet.http
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    layers = [os.urandom(n) for n in layer_sizes]
    for blob in (config, *layers):
        push_blob(http, name, blob)
    manifest = make_manifest(config, layers)
    r = http.put(
        f"/v2/{name}/manifests/v1", content=manifest, headers={"content-type": OCI_MANIFEST}
    )
    assert r.status_code == 201, r.text
    torrents = [http.get(f"/v2/{name}/_dockyard/torrent/{sha256(b)}") for b in layers]
    assert all(t.status_code == 200 for t in torrents)
    fleet.tracker.allow([t.content for t in torrents])
    return {sha256(b): len(b) for b in (config, *layers)}


def on_disk(agent: p2p_net.AgentProcess, digest: str) -> str:
    path = agent.data / "blobs" / "sha256" / digest.removeprefix("sha256:")
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_agents_pull_at_once_and_the_registry_serves_far_less_than_n_copies(fleet: Fleet) -> None:
    blobs = push(fleet, "team/app", [(20 << 20) + 4321, (20 << 20) - 777], "fleet")
    size = sum(blobs.values())
    before = fleet.blob_bytes_served()
    pulls = [p2p_net.pull_in_namespace(fleet.net, a.index, "team/app", "v1") for a in fleet.agents]
    results = [p2p_net.outcome(p, timeout=240) for p in pulls]
    served = fleet.blob_bytes_served() - before
    for agent, result in zip(fleet.agents, results, strict=True):
        assert result["bad"] == [], agent.log.read_text()
        assert result["blobs"] == blobs
        for digest, n in blobs.items():
            if n >= 1 << 20:  # the swarm's blobs, kept verified for seeding
                assert on_disk(agent, digest) == digest
    # Without p2p the registry serves AGENTS (4) times the image. The figure, 1.5x, is
    # for 8 agents and a 200 MB image, and holds there (benchmarks/RESULTS.md: 1.19x). What
    # goes above 1x is most likely spent before the agents have found each other (tracker
    # announce, peer connections): until then an agent's web seed is its only source and
    # none of its ranges is deferred to peers (docs/p2p.md, "source of last resort"). That
    # window is about the same number of seconds whatever the image, so on this 40 MiB image
    # it weighs more: six runs on a busy 2-core host (2026-12-04) gave 1.34, 1.45, 1.41,
    # 1.59, 1.45 and 1.30x, so 1.5x is not a stable bound here and 2x (half of no p2p) is.
    assert served < 2 * size, f"registry served {served / size:.2f} times the image"
    pages = [httpx.get(f"{a.url}/metrics").text for a in fleet.agents]
    from_peers = sum(p2p_net.metric(p, "dockyard_p2p_peer_bytes_total") for p in pages)
    uploaded = sum(p2p_net.metric(p, "dockyard_p2p_upload_bytes_total") for p in pages)
    assert from_peers > size and uploaded > size, (served / size, pages)


def test_killing_two_agents_mid_transfer_leaves_the_others_verified(fleet: Fleet) -> None:
    blobs = push(fleet, "team/kill", [(24 << 20) + 99], "kill")
    before = fleet.blob_bytes_served()
    layer = max(blobs, key=lambda d: blobs[d])
    pulls = [p2p_net.pull_in_namespace(fleet.net, a.index, "team/kill", "v1") for a in fleet.agents]
    victims, survivors = fleet.agents[:2], fleet.agents[2:]
    # mid-transfer: once the victims have some of the layer in their swarm files
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        partial = [v.data / "swarm" / layer.removeprefix("sha256:") for v in victims]
        if all(p.exists() and p.stat().st_blocks * 512 > (4 << 20) for p in partial):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the agents to kill never started receiving the layer")
    for victim in victims:
        victim.process.send_signal(signal.SIGKILL)
    for victim, pull in zip(victims, pulls[:2], strict=True):
        victim.process.wait()
        pull.kill()
        pull.communicate()
    for agent, pull in zip(survivors, pulls[2:], strict=True):
        result = p2p_net.outcome(pull, timeout=240)
        assert result["bad"] == [], agent.log.read_text()
        assert result["blobs"] == blobs
        assert on_disk(agent, layer) == layer
    # pieces only the dead held come from the registry again, and still far less than one
    # copy per agent leaves it (six runs: 1.18 to 1.35x the image; 2x as in the test above)
    served = fleet.blob_bytes_served() - before
    assert served < 2 * sum(blobs.values()), f"registry served {served / sum(blobs.values()):.2f}x"


def test_preheat_seeds_an_image_on_the_agents_named(fleet: Fleet) -> None:
    alive = [a for a in fleet.agents if a.process.poll() is None]
    blobs = push(fleet, "team/warm", [(3 << 20) + 5], "warm")
    layer = max(blobs, key=lambda d: blobs[d])
    out = subprocess.run(
        [str(dockyard_executable()), "p2p", "preheat", "team/warm:v1", "--format", "json",
         *[x for a in alive for x in ("--agent", a.url)]],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    outcomes = json.loads(out.stdout)
    assert [o["ok"] for o in outcomes] == [True] * len(alive)
    assert {b["digest"]: b["size"] for b in outcomes[0]["blobs"]} == blobs
    for agent in alive:
        assert on_disk(agent, layer) == layer
    # an image the registry lacks: every agent says so, and the command fails
    bad = subprocess.run(
        [str(dockyard_executable()), "p2p", "preheat", "team/none:v1", "--agent", alive[0].url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode != 0 and "did not preheat" in bad.stderr
