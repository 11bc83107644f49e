"""The agent behind the clients' own mirror settings, and an agent that restarts.

- dockerd with ``--registry-mirror http://127.0.0.1:<agent>`` pulls a Docker Hub name
  (``p2pimg:v1`` = ``docker.io/library/p2pimg:v1``) through the agent;
- podman with a ``registries.conf`` ``[[registry.mirror]]`` naming the agent pulls
  ``<registry>/team/app:v1`` through it;
- an agent restarted on the same ``--data`` seeds what it had: a fresh swarm whose web seed
  is refused gets the whole blob from it.

The network is loopback only: a client that went around the agent would find nothing (no
docker.io here; the registry wants credentials the clients do not have), and the agent's
``/metrics`` count the blobs it served.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra import Podman
from _infra.oci_layout import gzip_tar
from _infra.p2p_net import OPENTRACKER, Tracker, tracker
from _infra.registry_server import RegistryProcess, make_manifest, push_blob, sha256, start_registry
from dockyard.client import Credentials
from dockyard.registry.auth import htpasswd_line

pytest.importorskip("libtorrent")

from dockyard.p2p.agent import Agent, AgentConfig
from dockyard.p2p.counters import Counters
from dockyard.p2p.swarm import Swarm, SwarmSettings

pytestmark = pytest.mark.slow

USER, PASSWORD = "node", "node-secret"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HUB_NAME = "p2pimg"  # docker's mirrors serve Docker Hub names: library/p2pimg
REPOS = (f"library/{HUB_NAME}", "team/app")


@dataclass
class Setup:
    registry: RegistryProcess
    agent: Agent
    work: Path
    config_digest: str
    blobs: dict[str, int]  # digest -> size, config and layers

    @property
    def mirror(self) -> str:
        return f"127.0.0.1:{self.agent.port}"

    def metric(self, name: str, agent: Agent | None = None) -> int:
        port = (agent or self.agent).port
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        m = re.search(rf"^dockyard_p2p_{name}_total (\d+)$", text, re.M)
        assert m is not None, text
        return int(m.group(1))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _agent(setup_registry: str, data: Path, *trackers: str) -> Agent:
    return Agent(
        AgentConfig(
            registry=setup_registry,
            data=data,
            listen="127.0.0.1:0",
            peer_listen="127.0.0.1:0",
            credentials=Credentials(USER, PASSWORD),
            trackers=trackers,
            timeout=120,
        )
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("clients")
    (work / "htpasswd").write_text(htpasswd_line(USER, PASSWORD, cost=4) + "\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "nodes",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(work / "htpasswd"),
    }
    # a layer over DIRECT_BELOW (the swarm) and a small one (the registry, directly)
    layers = [gzip_tar("big.bin", os.urandom((2 << 20) + 4321)), gzip_tar("small.txt", b"hi\n")]
    diff_ids = [sha256(gzip.decompress(x)) for x in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/big.bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    manifest = make_manifest(config, layers)
    with start_registry(work / "registry", env=env) as registry:
        with httpx.Client(base_url=registry.url, auth=(USER, PASSWORD), timeout=60) as http:
            for repo in REPOS:
                for blob in (config, *layers):
                    push_blob(http, repo, blob)
                r = http.put(
                    f"/v2/{repo}/manifests/v1",
                    content=manifest,
                    headers={"content-type": OCI_MANIFEST},
                )
                assert r.status_code == 201, r.text
        agent = _agent(registry.url, work / "agent")
        agent.start()
        try:
            yield Setup(
                registry,
                agent,
                work,
                sha256(config),
                {sha256(b): len(b) for b in (config, *layers)},
            )
        finally:
            agent.close()


@pytest.fixture(scope="module")
def podman(setup: Setup) -> Iterator[Podman]:
    if shutil.which("podman") is None:
        pytest.skip("needs podman")
    run = Path(tempfile.mkdtemp(prefix="dypm-"))  # podman wants a short run root
    where = setup.work / "podman"
    where.mkdir()
    (where / "auth.json").write_text('{"auths": {}}')  # no credentials for the registry
    conf = where / "registries.conf"
    conf.write_text(
        f'[[registry]]\nlocation = "{setup.registry.host}"\n'
        f'[[registry.mirror]]\nlocation = "{setup.mirror}"\ninsecure = true\n'
    )
    try:
        yield Podman(
            [
                "podman",
                "--root", str(where / "root"),
                "--runroot", str(run),
                "--storage-driver", "vfs",
                "--cgroup-manager", "cgroupfs",
                "--events-backend", "none",
            ],
            {
                **os.environ,
                "REGISTRY_AUTH_FILE": str(where / "auth.json"),
                "CONTAINERS_REGISTRIES_CONF": str(conf),
            },
        )  # fmt: skip
    finally:
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.docker
def test_dockerd_registry_mirrors_pull_a_hub_name_through_the_agent(setup: Setup) -> None:
    """Its own dockerd: the session's has no mirror setting and is not restarted for one."""
    from _infra._dockerd import started_daemon

    served = setup.metric("blobs_served")
    with started_daemon(extra_args=("--registry-mirror", f"http://{setup.mirror}")) as daemon:
        daemon.run("pull", "-q", f"{HUB_NAME}:v1", timeout=180)
        image_id = daemon.run("image", "inspect", "--format", "{{.Id}}", f"{HUB_NAME}:v1")
    assert image_id.stdout.strip() == setup.config_digest
    # the config and both layers came from the agent: the big one through the swarm
    assert setup.metric("blobs_served") - served >= len(setup.blobs)
    big = max(setup.blobs, key=lambda d: setup.blobs[d])
    assert setup.agent.swarm.have(big) is not None
    assert setup.metric("webseed_bytes") > 0


def test_podman_registries_conf_mirror_pulls_through_the_agent(
    setup: Setup, podman: Podman
) -> None:
    served = setup.metric("blobs_served")
    ref = f"{setup.registry.host}/team/app:v1"
    podman.run("pull", "-q", ref)
    image_id = podman.run("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    assert "sha256:" + image_id.removeprefix("sha256:") == setup.config_digest
    # podman asks for every blob it has not got: config and layers, all through the agent
    assert setup.metric("blobs_served") - served >= len(setup.blobs)


@pytest.fixture
def private_tracker(setup: Setup, tmp_path: Path) -> Iterator[Tracker]:
    """A tracker of its own: the module's agent, which may hold the blob too, is not on it."""
    if not os.access(OPENTRACKER, os.X_OK):
        pytest.skip("needs opentracker (Debian package opentracker)")
    with tracker("127.0.0.1", _free_port(), tmp_path / "tracker") as trk:
        big = max(setup.blobs, key=lambda d: setup.blobs[d])
        torrent = httpx.get(
            f"{setup.registry.url}/v2/team/app/_dockyard/torrent/{big}",
            auth=(USER, PASSWORD),
            timeout=30,
        )
        assert torrent.status_code == 200, torrent.text
        trk.allow([torrent.content])
        yield trk


def test_a_restarted_agent_seeds_what_it_had(
    setup: Setup, private_tracker: Tracker, tmp_path: Path
) -> None:
    announce = private_tracker.announce
    data = tmp_path / "agent"
    first = _agent(setup.registry.url, data, announce)
    first.start()
    try:
        first.preheat("team/app:v1")
    finally:
        first.close()
    big = max(setup.blobs, key=lambda d: setup.blobs[d])
    size = setup.blobs[big]

    again = _agent(setup.registry.url, data, announce)
    again.start()
    try:
        assert big in again.swarm.digests()  # resumed from data/torrents, not fetched
        assert again.swarm.have(big) is not None
        assert setup.metric("webseed_bytes", again) == 0
        # a swarm that cannot reach the registry (its web seed is refused) gets every
        # piece from the restarted agent, found through the tracker
        fresh = Swarm(
            SwarmSettings(
                data=tmp_path / "fresh",
                peer_listen="127.0.0.1:0",
                trackers=(announce,),
                timeout=60,
            ),
            Counters(),
        )
        try:
            torrent = httpx.get(
                f"{setup.registry.url}/v2/team/app/_dockyard/torrent/{big}",
                auth=(USER, PASSWORD),
                timeout=30,
            ).content
            path = fresh.fetch(big, lambda: torrent, f"http://127.0.0.1:{_free_port()}/refused")
            assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == big
            assert fresh.totals()[0] >= size
        finally:
            fresh.close()
        # libtorrent refreshes its totals once a second
        deadline = time.monotonic() + 10
        while setup.metric("upload_bytes", again) < size and time.monotonic() < deadline:
            time.sleep(0.2)
        assert setup.metric("upload_bytes", again) >= size, first.swarm.totals()
        assert setup.metric("webseed_bytes", again) == 0
    finally:
        again.close()


def test_a_restarted_agent_finishes_a_download_from_its_current_web_seed(
    setup: Setup, tmp_path: Path
) -> None:
    """An agent stopped mid-download comes back on its --data with another port and secret:
    the stored torrent's web seed becomes this run's seed route and, with no peer anywhere
    (no tracker), the registry through that route supplies what the first run had not."""
    import libtorrent as lt

    big = max(setup.blobs, key=lambda d: setup.blobs[d])
    size = setup.blobs[big]
    data = tmp_path / "agent"
    first = Agent(
        AgentConfig(
            registry=setup.registry.url,
            data=data,
            listen="127.0.0.1:0",
            peer_listen="127.0.0.1:0",
            credentials=Credentials(USER, PASSWORD),
            download_limit=256 << 10,  # slow enough to stop it half-way
            timeout=120,
        )
    )
    first.start()
    failures: list[Exception] = []

    def fetch() -> None:
        try:
            first.blob("team/app", big)
        except Exception as exc:  # the agent stops under it
            failures.append(exc)

    fetching = threading.Thread(target=fetch, daemon=True)
    fetching.start()
    try:
        deadline = time.monotonic() + 60
        while first.swarm.totals()[0] < size // 4:
            assert time.monotonic() < deadline, "the first run fetched nothing"
            assert fetching.is_alive(), failures
            time.sleep(0.05)
    finally:
        first.close()
    fetching.join(30)
    assert not fetching.is_alive() and failures, "a fetch ends when its agent stops"
    assert first.swarm.have(big) is None

    again = _agent(setup.registry.url, data)  # no tracker: the web seed is the only source
    again.start()
    try:
        current = again.seed_url("team/app", big)
        assert current != first.seed_url("team/app", big)
        assert big in again.swarm.digests()  # resumed, not joined anew
        # (libtorrent ends a web seed of a torrent it sees as several files with "/")
        assert [u.rstrip("/") for u in again.swarm.web_seeds(big)] == [current]
        stored = lt.bdecode(
            (data / "torrents" / f"{big.removeprefix('sha256:')}.torrent").read_bytes()
        )
        assert isinstance(stored, dict) and stored.get(b"url-list") == [current.encode()]  # type: ignore[call-overload]
        r = httpx.get(f"http://127.0.0.1:{again.port}/v2/team/app/blobs/{big}", timeout=120)
        assert r.status_code == 200, r.text
        assert "sha256:" + hashlib.sha256(r.content).hexdigest() == big
        fetched = setup.metric("webseed_bytes", again)
        # through this run's route, and only what the first run had not kept
        assert 0 < fetched < size, (fetched, size)
        assert again.swarm.have(big) is not None
        # the fetch kept the one web seed it found (no second entry for the same route)
        assert [u.rstrip("/") for u in again.swarm.web_seeds(big)] == [current]
    finally:
        again.close()
