"""``dockyard p2p agent`` and ``p2p preheat``: usage errors (125), bad values (1), and
``preheat --format json`` against an agent that is not there and against a real agent process
in front of a real registry process.

The agent's swarm, mirror and fleet behaviour is tested in tests/p2p/."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra._cli import ROOT_ENV, dockyard_executable
from _infra._process import terminate
from _infra.cli_contract import assert_help, assert_usage_error, import_image, run_in_process
from _infra.registry_server import RegistryProcess, start_registry


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_help_of_each_command(dockyard_root: Path) -> None:
    assert_help(dockyard_root, "p2p", "agent")
    assert_help(dockyard_root, "p2p", "preheat")


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    for args, message in (
        (["p2p", "bogus"], "No such command 'bogus'"),
        (["p2p", "agent", "--data", "d"], "Missing option '--registry'"),
        (["p2p", "agent", "--registry", "http://r"], "Missing option '--data'"),
        (
            ["p2p", "agent", "--registry", "http://r", "--data", "d", "--timeout", "soon"],
            "Invalid value for '--timeout'",
        ),
        (["p2p", "agent", "--bogus"], "No such option '--bogus'"),
        (["p2p", "preheat", "--agent", "http://a"], "Missing argument 'IMAGE'"),
        (["p2p", "preheat", "team/app:1"], "Missing option '--agent'"),
        (
            ["p2p", "preheat", "--agent", "http://a", "--format", "yaml", "team/app:1"],
            "Invalid value for '--format'",
        ),
    ):
        assert_usage_error(run_in_process(*args, root=dockyard_root, check=False), message)


@pytest.mark.slow
def test_agent_bad_values_exit_1_before_it_starts(dockyard_root: Path, tmp_path: Path) -> None:
    """Values click cannot check are refused with one error line (processes: the agent sets up
    logging before it checks them)."""
    base = ["p2p", "agent", "--registry", "http://127.0.0.1:1", "--data", str(tmp_path / "d")]
    for extra, message in (
        (["--upload-limit", "5Q"], "Error: rate '5Q' is not BYTES[K|M|G] per second, e.g. 5M"),
        (["--password", "secret"], "Error: --password needs --username"),
        (
            ["--preheat-token", "short"],
            "Error: the preheat token must be 16 to 4096 printable characters without spaces "
            "(e.g. `openssl rand -hex 32`)",
        ),
        (["--admin-listen", "nowhere"], "Error: --admin-listen 'nowhere' is not HOST:PORT"),
    ):
        out = run_dockyard(*base, *extra, root=dockyard_root, check=False, timeout=60)
        assert out.returncode == 1, out.stderr
        assert out.stderr.splitlines()[-1] == message, out.stderr
        assert out.stdout == ""


def test_preheat_json_names_an_agent_that_cannot_be_reached(dockyard_root: Path) -> None:
    agent = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    out = run_in_process(
        "p2p", "preheat", "--agent", agent, "--format", "json", "team/app:1",
        root=dockyard_root, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    [outcome] = json.loads(out.stdout)
    assert set(outcome) == {"agent", "ok", "error", "blobs"}
    assert (outcome["agent"], outcome["ok"], outcome["blobs"]) == (agent, False, [])
    assert outcome["error"].startswith("cannot reach the agent: ")
    assert out.stderr.startswith(f"Error: 1 of 1 agents did not preheat: {agent}: "), out.stderr


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[RegistryProcess]:
    with start_registry(tmp_path / "registry") as server:
        yield server


@pytest.fixture
def agent(registry: RegistryProcess, tmp_path: Path) -> Iterator[str]:
    """``dockyard p2p agent`` for ``registry`` as a real process; its URL once it answers."""
    port = _free_port()
    argv = [
        os.fspath(dockyard_executable()), "p2p", "agent", "--registry", registry.url,
        "--listen", f"127.0.0.1:{port}", "--peer-listen", "127.0.0.1:0",
        "--data", os.fspath(tmp_path / "agent"), "--timeout", "120",
    ]  # fmt: skip
    env = {**os.environ, ROOT_ENV: os.fspath(tmp_path / "store"), "DOCKER_CONFIG": str(tmp_path)}
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (a bound, not a measurement)
            if process.poll() is not None:
                assert process.stderr is not None
                raise AssertionError(f"the agent ended: {process.stderr.read().decode()}")
            try:
                httpx.get(f"{url}/v2/", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        terminate(process)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.slow
def test_preheat_json_lists_the_blobs_the_agent_now_seeds(
    registry: RegistryProcess, agent: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ref = f"{registry.host}/team/app:v1"
    import_image(dockyard_root, tmp_path, ref, {"data/big": os.urandom(1 << 20)})
    run_dockyard("push", "-q", ref, root=dockyard_root)
    manifest = json.loads(run_dockyard("manifest", "inspect", ref, root=dockyard_root).stdout)
    blobs = {d["digest"]: d["size"] for d in (manifest["config"], *manifest["layers"])}

    out = run_in_process(
        "p2p", "preheat", "--agent", agent, "--format", "json", "team/app:v1", root=dockyard_root
    )
    [outcome] = json.loads(out.stdout)
    assert (outcome["agent"], outcome["ok"], outcome["error"]) == (agent, True, "")
    assert {b["digest"]: b["size"] for b in outcome["blobs"]}.items() <= blobs.items()
    layer = manifest["layers"][0]["digest"]
    assert layer in {b["digest"] for b in outcome["blobs"]}, outcome
    # the table: one row for the agent, ok
    table = run_in_process("p2p", "preheat", "--agent", agent, "team/app:v1", root=dockyard_root)
    header, row = table.stdout.splitlines()
    assert header.split()[:4] == ["AGENT", "STATUS", "BLOBS", "SIZE"]
    assert row.split()[:2] == [agent, "ok"]
