"""``dockyard promote``: the command-line contract, then end to end against dockyard's registry
in projects mode (a real server process): an image copied in, signed and attested with the
dockyard CLI, promoted to ``prod`` only when the gates asked for hold; a failing gate is named
and exits 1. A project policy holds a plain ``skopeo copy`` to a gated tag the same way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from _infra import BUSYBOX_REF, BuiltImage, DockerDaemon, run_command, run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.team_cli import ADMIN_PASSWORD, Team, team_registry
from dockyard.sign import PrivateKey

COSIGN = {"COSIGN_PASSWORD": "promote-pw"}
TESTS_PASSED = "https://example.com/attestations/tests-passed/v1"


def test_help(dockyard_root: Path) -> None:
    text = assert_help(dockyard_root, "promote")
    for option in ("--require-signature KEY", "--require-scan", "--require-attestation"):
        assert option in text
    assert "  promote " in run_dockyard("--help", root=dockyard_root).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["team/app", "prod"], "names no tag or digest"),
        (["app:rc", "prod"], "inside a project"),
        (["team/app:rc", "prod", "--require-scan", "high"], "max-severity=SEVERITY"),
        (["team/app:rc", "prod", "--require-signature", "/nonexistent.pub"], "nonexistent"),
    ],
)
def test_usage_errors(dockyard_root: Path, args: list[str], message: str) -> None:
    done = run_dockyard("promote", *args, "--registry", "127.0.0.1:9", root=dockyard_root,
                        check=False)  # fmt: skip
    assert_usage_error(done, message)


def _skopeo_push(layout: Path, host: str, ref: str) -> Any:
    """A plain push by a real client that knows nothing of gates."""
    return run_command(
        ["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
         "--dest-creds", f"admin:{ADMIN_PASSWORD}", f"oci:{layout}:rc", f"docker://{host}/{ref}"],
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    with team_registry(tmp_path_factory.mktemp("promote"), COSIGN, with_registry=False) as team:
        yield team


@pytest.mark.slow
def test_promote_moves_prod_only_when_the_gates_hold(team: Team, tmp_path: Path) -> None:
    host = team.registry.host
    digest = oci_layout(tmp_path / "layout", [gzip_tar("app", b"promote me\n")], tag="rc")
    team.run("copy", f"oci:{tmp_path / 'layout'}:rc", f"docker://{host}/team/app:rc")
    prefix = tmp_path / "ci"
    team.run("generate-key-pair", "--output-key-prefix", prefix)
    key, pub = f"{prefix}.key", f"{prefix}.pub"
    other = tmp_path / "other.pub"  # a key the image was never signed with
    other.write_bytes(PrivateKey(ec.generate_private_key(ec.SECP256R1())).public_key().pem)
    image = f"{host}/team/app@{digest}"
    # a project policy: "live" needs a signature by the CI key, whoever pushes it
    policy = httpx.post(
        f"http://{host}/api/v2.0/projects/team/promotion_policies",
        json={"tags": ["live"], "require": {"signature": {"keys": [Path(pub).read_text()]}}},
        auth=("admin", ADMIN_PASSWORD),
        headers={"X-Is-Resource-Name": "true"},
        timeout=30,
    )
    assert policy.status_code == 201, policy.text
    refused = _skopeo_push(tmp_path / "layout", host, "team/app:live")
    assert refused.returncode != 0
    assert "signature gate (policy" in refused.stderr, refused.stderr
    team.run("sign", "--key", key, image)
    assert _skopeo_push(tmp_path / "layout", host, "team/app:live").returncode == 0
    predicate = tmp_path / "result.json"
    predicate.write_text('{"suite": "integration", "result": "passed"}')
    team.run("attest", "--key", key, "--predicate", predicate, "--type", TESTS_PASSED, image)

    def promote(*extra: Any, check: bool = True) -> Any:
        return team.run("promote", f"{host}/team/app:rc", "prod", *extra, check=check)

    # each gate asked for and failing alone: exit 1, the gate named, prod not there
    failing: list[tuple[list[Any], str]] = [
        (["--require-signature", other], "signature gate (request) failed"),
        (["--require-signature", pub, "--require-attestation", "spdx"],
         "attestation gate (request) failed"),
        (["--require-scan", "max-severity=high"], "scan gate (request) failed"),
    ]  # fmt: skip
    for extra, named in failing:
        done = promote(*extra, check=False)
        assert done.returncode == 1, done.stderr
        assert named in done.stderr, done.stderr
        assert done.stdout == ""
    listed = team.run("digest", f"docker://{host}/team/app:prod", check=False)
    assert listed.returncode != 0  # never moved
    # all asked-for gates holding: prod moves, JSON names the evidence
    done = promote(
        "--require-signature", pub, "--require-attestation", TESTS_PASSED, "--format", "json"
    )
    result = json.loads(done.stdout)
    assert (result["digest"], result["previous"], result["moved"]) == (digest, None, True)
    assert [g["gate"] for g in result["gates"]] == ["signature", "attestation"]
    assert all(g["passed"] for g in result["gates"])
    assert team.run("digest", f"docker://{host}/team/app:prod").stdout.strip() == digest
    again = promote("--require-signature", pub)
    assert f"team/app:prod already points at {digest}" in again.stdout
    assert "signature (request): passed" in again.stdout
    audit = team.run("audit", "ls", "--registry", host, "--format", "json").stdout
    promotes = [json.loads(line) for line in audit.splitlines() if '"promote"' in line]
    assert len(promotes) == 5  # every attempt, refused or not (pushes are not promotions)


@pytest.mark.slow
def test_a_plain_docker_push_to_a_gated_tag_is_refused(
    team: Team, dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    """``docker push`` knows nothing of gates: the project's promotion policy refuses the
    gated tag (docker shows the registry's message) while other tags go in."""
    host = team.registry.host
    key = PrivateKey(ec.generate_private_key(ec.SECP256R1())).public_key().pem.decode()
    policy = httpx.post(
        f"http://{host}/api/v2.0/projects/team/promotion_policies",
        json={"tags": ["gated"], "require": {"signature": {"keys": [key]}}},
        auth=("admin", ADMIN_PASSWORD),
        headers={"X-Is-Resource-Name": "true"},
        timeout=30,
    )
    assert policy.status_code == 201, policy.text
    config = tmp_path / "docker-config"
    config.mkdir()
    dockerd.run("--config", config, "login", "-u", "admin", "--password-stdin", host,
                input=ADMIN_PASSWORD)  # fmt: skip
    for tag in ("gated", "dev"):
        dockerd.run("tag", BUSYBOX_REF, f"{host}/team/docked:{tag}")
    try:
        refused = dockerd.run("--config", config, "push", f"{host}/team/docked:gated",
                              check=False)  # fmt: skip
        assert refused.returncode != 0
        assert "signature gate (policy" in refused.stderr, refused.stderr
        dockerd.run("--config", config, "push", f"{host}/team/docked:dev")
    finally:
        for tag in ("gated", "dev"):
            dockerd.run("rmi", f"{host}/team/docked:{tag}", check=False)
    tags = httpx.get(f"http://{host}/v2/team/docked/tags/list", auth=("admin", ADMIN_PASSWORD),
                     timeout=30).json()["tags"]  # fmt: skip
    assert tags == ["dev"]
