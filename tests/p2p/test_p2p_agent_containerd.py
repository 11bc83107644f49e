"""containerd pulls through the agent configured the way its users do: a ``hosts.toml`` in a
hosts directory naming the registry as ``server`` and the agent as a ``pull``/``resolve``
host. The containerd is the test's own (Debian's binary, its own root, state and socket);
the registry wants credentials containerd does not have, so only the agent can answer. The
agent answers containerd's ``?ns=`` for its registry (and ``mirror_of``) only; listed for
another upstream, it answers 404 and containerd goes on to ``server``."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from _infra._process import run_command
from _infra.oci_layout import gzip_tar
from _infra.registry_server import RegistryProcess, make_manifest, push_blob, sha256, start_registry
from dockyard.client import Credentials
from dockyard.registry.auth import htpasswd_line

pytest.importorskip("libtorrent")

from dockyard.p2p.agent import Agent, AgentConfig

pytestmark = [pytest.mark.slow, pytest.mark.privileged]

USER, PASSWORD = "node", "node-secret"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Setup:
    registry: RegistryProcess
    agent: Agent
    work: Path
    manifest_digest: str
    blobs: dict[str, int]

    @property
    def mirror(self) -> str:
        return f"127.0.0.1:{self.agent.port}"

    def metric(self, name: str) -> int:
        text = httpx.get(f"http://{self.mirror}/metrics", timeout=10).text
        m = re.search(rf"^dockyard_p2p_{name}_total (\d+)$", text, re.M)
        assert m is not None, text
        return int(m.group(1))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("containerd")
    (work / "htpasswd").write_text(htpasswd_line(USER, PASSWORD, cost=4) + "\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "nodes",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(work / "htpasswd"),
    }
    layers = [gzip_tar("big.bin", os.urandom((2 << 20) + 777)), gzip_tar("small.txt", b"hi\n")]
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
            for blob in (config, *layers):
                push_blob(http, "team/app", blob)
            r = http.put(
                "/v2/team/app/manifests/v1",
                content=manifest,
                headers={"content-type": OCI_MANIFEST},
            )
            assert r.status_code == 201, r.text
            digest = r.headers["Docker-Content-Digest"]
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
            yield Setup(
                registry, agent, work, digest, {sha256(b): len(b) for b in (config, *layers)}
            )
        finally:
            agent.close()


@dataclass
class Containerd:
    socket: Path

    def ctr(self, *args: str, timeout: float = 180) -> str:
        argv = ["ctr", "--address", str(self.socket), "--namespace", "dockyard-test", *args]
        return str(run_command(argv, timeout=timeout).stdout)


@pytest.fixture(scope="module")
def containerd(setup: Setup) -> Iterator[Containerd]:
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("needs containerd and ctr (Debian's containerd, which docker.io brings)")
    if os.geteuid() != 0:
        pytest.skip("containerd runs as root")
    run = Path(tempfile.mkdtemp(prefix="dyctd-"))  # a unix socket path must be short
    where = setup.work / "containerd"
    where.mkdir()
    socket = run / "c.sock"
    config = where / "config.toml"
    config.write_text(
        "version = 2\n"
        f'root = "{where / "root"}"\n'
        f'state = "{run / "state"}"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{socket}"\n'
        f'[ttrpc]\n  address = "{run / "t.sock"}"\n'
    )
    log = (where / "containerd.log").open("wb")
    process = subprocess.Popen(
        ["containerd", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"containerd did not start:\n{(where / 'containerd.log').read_text()}")
            time.sleep(0.1)
        daemon = Containerd(socket)
        daemon.ctr("version", timeout=30)
        yield daemon
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(run, ignore_errors=True)


def test_containerd_hosts_toml_mirror_pulls_through_the_agent(
    setup: Setup, containerd: Containerd
) -> None:
    hosts = setup.work / "certs.d"
    (hosts / setup.registry.host).mkdir(parents=True)
    (hosts / setup.registry.host / "hosts.toml").write_text(
        f'server = "{setup.registry.url}"\n\n'
        f'[host."http://{setup.mirror}"]\n'
        '  capabilities = ["pull", "resolve"]\n'
    )
    served = setup.metric("blobs_served")
    ref = f"{setup.registry.host}/team/app:v1"
    containerd.ctr(
        "image", "pull", "--hosts-dir", str(hosts),
        "--snapshotter", "native", ref,
    )  # fmt: skip
    listing = containerd.ctr("image", "ls")
    line = next(x for x in listing.splitlines() if x.startswith(ref + " "))
    assert setup.manifest_digest in line.split(), listing
    # every blob came from the agent (containerd has no credentials for the registry), the
    # big layer through the swarm, verified and kept
    assert setup.metric("blobs_served") - served >= len(setup.blobs)
    big = max(setup.blobs, key=lambda d: setup.blobs[d])
    kept = setup.agent.swarm.have(big)
    assert kept is not None
    assert "sha256:" + hashlib.sha256(kept.read_bytes()).hexdigest() == big
    assert setup.metric("webseed_bytes") > 0
    # containerd holds every blob under its digest (it verifies what it writes)
    content = containerd.ctr("content", "ls", "--quiet").split()
    assert set(setup.blobs) | {setup.manifest_digest} <= set(content), content


def test_the_agent_answers_for_its_registrys_ns_only(setup: Setup) -> None:
    base = f"http://{setup.mirror}/v2/team/app/manifests/v1"
    accept = {"Accept": OCI_MANIFEST}
    r = httpx.get(f"{base}?ns={setup.registry.host}", headers=accept, timeout=30)
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == setup.manifest_digest
    # another upstream: 404, on which containerd tries its next host (the upstream itself)
    r = httpx.get(f"{base}?ns=quay.io", headers=accept, timeout=30)
    assert r.status_code == 404
    error = r.json()["errors"][0]
    assert error["code"] == "NAME_UNKNOWN" and "quay.io" in error["message"]
    assert setup.registry.host in error["message"]


def test_mirror_of_names_the_other_hosts_an_agent_answers_for(setup: Setup) -> None:
    """``--mirror-of docker.io``: containerd's ``certs.d/docker.io/hosts.toml`` sends
    ``ns=docker.io``, which such an agent answers from its registry."""
    agent = Agent(
        AgentConfig(
            registry=setup.registry.url,
            data=setup.work / "hub-agent",
            listen="127.0.0.1:0",
            peer_listen="127.0.0.1:0",
            credentials=Credentials(USER, PASSWORD),
            mirror_of=("docker.io",),
        )
    )
    agent.start()
    try:
        base = f"http://127.0.0.1:{agent.port}/v2/team/app/manifests/v1"
        accept = {"Accept": OCI_MANIFEST}
        for ns in ("docker.io", setup.registry.host):
            r = httpx.get(base, params={"ns": ns}, headers=accept, timeout=30)
            assert r.status_code == 200, (ns, r.text)
            assert r.headers["Docker-Content-Digest"] == setup.manifest_digest
        r = httpx.get(base, params={"ns": "ghcr.io"}, headers=accept, timeout=30)
        assert r.status_code == 404 and "docker.io" in r.json()["errors"][0]["message"]
    finally:
        agent.close()


def test_containerd_goes_on_to_the_server_for_an_upstream_the_agent_does_not_mirror(
    setup: Setup, containerd: Containerd, caplog: pytest.LogCaptureFixture
) -> None:
    """The agent listed in another registry's ``hosts.toml``: it refuses that ``ns`` with
    404 and containerd pulls from ``server`` instead, nothing served by the agent."""
    with start_registry(setup.work / "other") as other:
        layer = gzip_tar("other.txt", b"other\n")
        config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": [sha256(gzip.decompress(layer))]}}).encode()  # fmt: skip
        with httpx.Client(base_url=other.url, timeout=60) as http:
            for blob in (config, layer):
                push_blob(http, "other/app", blob)
            r = http.put(
                "/v2/other/app/manifests/v1",
                content=make_manifest(config, [layer]),
                headers={"content-type": OCI_MANIFEST},
            )
            assert r.status_code == 201, r.text
            digest = r.headers["Docker-Content-Digest"]
        hosts = setup.work / "other-certs.d"
        (hosts / other.host).mkdir(parents=True)
        (hosts / other.host / "hosts.toml").write_text(
            f'server = "{other.url}"\n\n'
            f'[host."http://{setup.mirror}"]\n'
            '  capabilities = ["pull", "resolve"]\n'
        )
        served = setup.metric("blobs_served")
        ref = f"{other.host}/other/app:v1"
        with caplog.at_level(logging.DEBUG, logger="dockyard.p2p"):
            containerd.ctr(
                "image", "pull", "--hosts-dir", str(hosts), "--snapshotter", "native", ref
            )  # fmt: skip
        listing = containerd.ctr("image", "ls")
        line = next(x for x in listing.splitlines() if x.startswith(ref + " "))
        assert digest in line.split(), listing
    refused = [
        r.getMessage()
        for r in caplog.records
        if f"ns={quote(other.host, safe='')}" in r.getMessage() and '" 404 ' in r.getMessage()
    ]
    assert refused, [r.getMessage() for r in caplog.records]
    assert setup.metric("blobs_served") == served
