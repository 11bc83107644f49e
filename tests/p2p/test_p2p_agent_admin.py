"""The agent's admin side: with ``--admin-listen``, ``/metrics`` and ``POST
/_dockyard/preheat`` are served on that address only (as registry:2 serves its metrics on
``http.debug.addr``) and the mirror address answers 404 for them; with a preheat token,
preheat needs ``Authorization: Bearer <token>`` and a refused call fetches nothing; ``dockyard
p2p preheat --token-file``/``DOCKYARD_P2P_PREHEAT_TOKEN`` sends it; an agent whose preheat is
reachable beyond loopback without a token says so when it starts. A real registry process
(htpasswd), in-process agents and a ``dockyard p2p agent`` process."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from _infra._cli import ROOT_ENV, dockyard_executable, run_dockyard
from _infra._process import terminate
from _infra.registry_server import RegistryProcess, make_manifest, push_blob, sha256, start_registry
from dockyard.client import Credentials
from dockyard.registry.auth import htpasswd_line

pytest.importorskip("libtorrent")

from dockyard.p2p.agent import Agent, AgentConfig

pytestmark = pytest.mark.slow

USER, PASSWORD = "node", "node-secret"
TOKEN = "preheat-" + "0123456789abcdef" * 2
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@dataclass
class Setup:
    registry: RegistryProcess
    work: Path
    big: str  # the layer that goes through the swarm


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    work = tmp_path_factory.mktemp("admin")
    (work / "htpasswd").write_text(htpasswd_line(USER, PASSWORD, cost=4) + "\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "nodes",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(work / "htpasswd"),
    }
    with start_registry(work / "registry", env=env) as registry:
        with httpx.Client(base_url=registry.url, auth=(USER, PASSWORD), timeout=60) as http:
            layers = [os.urandom((2 << 20) + 777), os.urandom(2000)]
            config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
            for blob in (config, *layers):
                push_blob(http, "team/app", blob)
            r = http.put("/v2/team/app/manifests/v1", content=make_manifest(config, layers),
                         headers={"content-type": OCI_MANIFEST})  # fmt: skip
            assert r.status_code == 201, r.text
        yield Setup(registry, work, sha256(layers[0]))


@pytest.fixture
def agent(setup: Setup, tmp_path: Path) -> Iterator[Agent]:
    """An agent with an admin address and a preheat token."""
    found = Agent(
        AgentConfig(
            registry=setup.registry.url, data=tmp_path / "agent", listen="127.0.0.1:0",
            peer_listen="127.0.0.1:0", credentials=Credentials(USER, PASSWORD), timeout=120,
            admin_listen="127.0.0.1:0", preheat_token=TOKEN,
        )
    )  # fmt: skip
    found.start()
    try:
        yield found
    finally:
        found.close()


def _code(r: httpx.Response) -> str:
    return str(r.json()["errors"][0]["code"])


def test_metrics_and_preheat_are_on_the_admin_address_only(agent: Agent) -> None:
    mirror = f"http://127.0.0.1:{agent.port}"
    admin = f"http://127.0.0.1:{agent.admin_port}"
    assert agent.admin_port not in (None, agent.port)
    # the mirror serves images, not the admin routes (a hint says where they are)
    assert httpx.get(f"{mirror}/v2/").status_code == 200
    r = httpx.get(f"{mirror}/v2/team/app/manifests/v1", headers={"accept": OCI_MANIFEST})
    assert r.status_code == 200, r.text
    for r in (httpx.get(f"{mirror}/metrics"),
              httpx.post(f"{mirror}/_dockyard/preheat", json={"image": "team/app:v1"},
                         headers={"authorization": f"Bearer {TOKEN}"})):  # fmt: skip
        assert r.status_code == 404 and _code(r) == "NOT_FOUND", r.text
        assert "--admin-listen" in r.json()["errors"][0]["message"]
    # the admin address serves the counters, and nothing of the mirror
    r = httpx.get(f"{admin}/metrics")
    assert r.status_code == 200 and "dockyard_p2p_blobs_served_total" in r.text, r.text
    for path in ("/v2/", "/v2/team/app/manifests/v1",
                 agent.seed_url("team/app", "sha256:" + "0" * 64).split(f":{agent.port}")[1]):  # fmt: skip
        r = httpx.get(f"{admin}{path}")
        assert r.status_code == 404, (path, r.text)


def test_preheat_needs_the_token_and_a_refused_call_fetches_nothing(
    agent: Agent, setup: Setup
) -> None:
    url = f"http://127.0.0.1:{agent.admin_port}/_dockyard/preheat"
    body = {"image": "team/app:v1"}
    basic = httpx.BasicAuth(USER, PASSWORD)
    for headers, auth in (({}, None), ({"authorization": "Bearer wrong-token-wrong-token"}, None),
                          ({"authorization": TOKEN}, None), ({}, basic)):  # fmt: skip
        r = httpx.post(url, json=body, headers=headers, auth=auth, timeout=60)
        assert r.status_code == 401 and _code(r) == "UNAUTHORIZED", r.text
        assert r.headers["www-authenticate"].startswith("Bearer ")
        assert "token" in r.json()["errors"][0]["message"]
    assert agent.swarm.have(setup.big) is None  # nothing was fetched for them
    r = httpx.post(url, json=body, headers={"authorization": f"Bearer {TOKEN}"}, timeout=120)
    assert r.status_code == 200, r.text
    assert setup.big in {b["digest"] for b in r.json()["blobs"]}
    assert agent.swarm.have(setup.big) is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_agent_command_and_preheat_with_a_token(setup: Setup, tmp_path: Path) -> None:
    port, admin_port = _free_port(), _free_port()
    (tmp_path / "token").write_text(TOKEN + "\n")
    argv = [
        os.fspath(dockyard_executable()), "p2p", "agent", "--registry", setup.registry.url,
        "--listen", f"127.0.0.1:{port}", "--peer-listen", "127.0.0.1:0",
        "--admin-listen", f"127.0.0.1:{admin_port}", "--preheat-token-file",
        os.fspath(tmp_path / "token"), "--data", os.fspath(tmp_path / "agent"),
        "--timeout", "120", "-u", USER, "--password-stdin",
    ]  # fmt: skip
    env = {**os.environ, ROOT_ENV: os.fspath(tmp_path / "store"), "DOCKER_CONFIG": str(tmp_path)}
    env.pop("DOCKYARD_P2P_PREHEAT_TOKEN", None)
    process = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    assert process.stdin is not None and process.stderr is not None
    process.stdin.write(PASSWORD.encode() + b"\n")
    process.stdin.close()
    admin = f"http://127.0.0.1:{admin_port}"
    try:
        for _ in range(600):  # until it answers (a bound, not a measurement)
            if process.poll() is not None:
                raise AssertionError(f"the agent ended: {process.stderr.read().decode()}")
            try:
                httpx.get(f"{admin}/metrics", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
        store = tmp_path / "cli"
        refused = run_dockyard("p2p", "preheat", "--agent", admin, "--format", "json",
                               "team/app:v1", root=store, env=env, check=False)  # fmt: skip
        assert refused.returncode == 1, refused.stderr
        [outcome] = json.loads(refused.stdout)
        assert not outcome["ok"] and "preheat needs this agent's token" in outcome["error"]
        done = run_dockyard("p2p", "preheat", "--agent", admin, "--format", "json", "team/app:v1",
                            root=store, env={**env, "DOCKYARD_P2P_PREHEAT_TOKEN": TOKEN})  # fmt: skip
        [outcome] = json.loads(done.stdout)
        assert outcome["ok"], outcome
        assert setup.big in {b["digest"] for b in outcome["blobs"]}
        r = httpx.get(f"{admin}/metrics")
        assert "dockyard_p2p_torrents 1" in r.text, r.text
    finally:
        terminate(process)
        process.stderr.close()


@pytest.mark.parametrize(
    ("listen", "admin_listen", "token", "warned"),
    [
        ("127.0.0.1:0", None, None, False),  # preheat reachable from this node only
        ("0.0.0.0:0", None, None, True),
        ("0.0.0.0:0", None, TOKEN, False),
        ("0.0.0.0:0", "127.0.0.1:0", None, False),  # the mirror is open, preheat is not
        ("127.0.0.1:0", "0.0.0.0:0", None, True),
    ],
)
def test_a_preheat_open_beyond_loopback_without_a_token_is_warned(
    setup: Setup, tmp_path: Path, caplog: pytest.LogCaptureFixture, listen: str,
    admin_listen: str | None, token: str | None, warned: bool,
) -> None:  # fmt: skip
    caplog.set_level(logging.WARNING, logger="dockyard.p2p")
    found = Agent(AgentConfig(registry=setup.registry.url, data=tmp_path / "a", listen=listen,
                              peer_listen="127.0.0.1:0", admin_listen=admin_listen,
                              preheat_token=token))  # fmt: skip
    found.close()
    lines = [r.getMessage() for r in caplog.records if "takes no token" in r.getMessage()]
    assert bool(lines) == warned, lines
