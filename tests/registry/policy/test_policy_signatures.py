"""Signature enforcement (policies.signatures in the config) through a real server process,
with docker, skopeo and podman as the pulling clients."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from _infra import Podman, run_command, run_dockyard
from _infra.oci_layout import gzip_tar, oci_layout
from _infra.registry_server import start_registry
from dockyard.errors import InvalidArgument
from dockyard.registry.policy import signature_enforcement

PASSWORD = {"COSIGN_PASSWORD": "policy"}
SKOPEO_PUSH = ["skopeo", "copy", "-q", "--preserve-digests", "--dest-tls-verify=false"]
SKOPEO_PULL = ["skopeo", "copy", "-q", "--src-tls-verify=false"]
ACCEPT = {"accept": "application/vnd.oci.image.manifest.v1+json"}


def _keys(tmp_path: Path, name: str) -> tuple[Path, Path]:
    prefix = tmp_path / name
    run_dockyard(
        "generate-key-pair", "--output-key-prefix", prefix, root=tmp_path / "s", env=PASSWORD
    )
    return prefix.with_suffix(".key"), prefix.with_suffix(".pub")


def test_policy_section_shapes(tmp_path: Path) -> None:
    _, pub = _keys(tmp_path, "k")
    assert signature_enforcement({}) is None
    assert signature_enforcement({"policies": {"retention": {}}}) is None
    rule = {"repository": "prod/*", "signature": "required", "keys": [str(pub)]}
    enforcement = signature_enforcement({"policies": {"signatures": [rule]}})
    assert enforcement is not None
    assert enforcement.applies("prod/app") and not enforcement.applies("dev/app")
    with pytest.raises(InvalidArgument, match="policies must be a mapping"):
        signature_enforcement({"policies": ["x"]})
    with pytest.raises(InvalidArgument, match=r"policies\.signatures must be a list"):
        signature_enforcement({"policies": {"signatures": {"repository": "x"}}})
    with pytest.raises(InvalidArgument, match=r"keys: cannot read"):
        signature_enforcement(
            {"policies": {"signatures": [{"repository": "x", "keys": ["missing.pub"]}]}},
            tmp_path,
        )


def test_signature_none_is_a_rule_and_the_most_specific_rule_wins(tmp_path: Path) -> None:
    _, pub = _keys(tmp_path, "k")
    required = {"signature": "required", "keys": [str(pub)]}
    enforcement = signature_enforcement(
        {
            "policies": {
                "signatures": [
                    {"repository": "prod/*", **required},
                    {"repository": "prod/exempt", "signature": "none"},
                    {"repository": "prod/legacy/*", "signature": "none"},
                    {"repository": "prod/legacy/core/*", **required},
                    {"repository": "prod/legacy/tool", **required},
                ]
            }
        }
    )
    assert enforcement is not None
    expected = {
        "prod/app": "prod/*",
        "prod/exempt": None,  # exact name beats the prefix
        "prod/exempted": "prod/*",
        "prod/legacy/x": None,  # longer prefix beats shorter
        "prod/legacy/core/db": "prod/legacy/core/*",
        "prod/legacy/tool": "prod/legacy/tool",
        "dev/app": None,
    }
    for repository, pattern in expected.items():
        rule = enforcement.policy.rule_for(repository)
        assert (rule.repository if rule else None) == pattern, repository
        assert enforcement.applies(repository) is (pattern is not None)
    # exemptions alone enforce nothing
    exempt_only = {"repository": "prod/x", "signature": "none"}
    assert signature_enforcement({"policies": {"signatures": [exempt_only]}}) is None
    with pytest.raises(InvalidArgument, match="has a rule already"):
        signature_enforcement(
            {
                "policies": {
                    "signatures": [{"repository": "prod/*", **required}, exempt_only, exempt_only]
                }
            }
        )
    with pytest.raises(InvalidArgument, match="signature: none takes no keys"):
        signature_enforcement({"policies": {"signatures": [{**exempt_only, "keys": [str(pub)]}]}})


@pytest.mark.docker
def test_unsigned_and_untrusted_pulls_refused_for_every_client(
    dockerd: object, podman: Podman, tmp_path: Path
) -> None:
    trusted_key, trusted_pub = _keys(tmp_path, "trusted")
    stranger_key, _ = _keys(tmp_path, "stranger")
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "policies:\n"
        "  signatures:\n"
        "    - repository: secure/*\n"
        "      signature: required\n"
        f"      keys: [{trusted_pub}]\n"
    )
    with start_registry(tmp_path / "data", "--config", str(config)) as server:
        host = server.host
        digests = {}
        for i, repo in enumerate(
            ("secure/signed", "secure/unsigned", "secure/foreign", "open/app")
        ):
            layout = tmp_path / "src" / repo.replace("/", "-")
            oci_layout(layout, [gzip_tar(f"f{i}", os.urandom(20_000))])
            # pushes are never blocked
            run_command([*SKOPEO_PUSH, f"oci:{layout}:t", f"docker://{host}/{repo}:v1"])
            r = httpx.head(f"{server.url}/v2/{repo}/manifests/v1", headers=ACCEPT)
            assert r.status_code == 200  # HEAD stays open: signers resolve digests with it
            digests[repo] = r.headers["docker-content-digest"]
        for key, repo in ((trusted_key, "secure/signed"), (stranger_key, "secure/foreign")):
            run_dockyard(
                "sign", "--key", key, f"{host}/{repo}@{digests[repo]}",
                root=tmp_path / "s", env=PASSWORD,
            )  # fmt: skip

        r = httpx.get(f"{server.url}/v2/secure/unsigned/manifests/v1", headers=ACCEPT)
        assert r.status_code == 403
        [error] = r.json()["errors"]
        assert error["code"] == "DENIED"
        assert "requires a signature by a trusted key" in error["message"]
        assert "no signatures found" in error["message"]

        pulled = tmp_path / "pulled"

        def skopeo(repo: str) -> tuple[bool, str]:
            out = run_command(
                [
                    *SKOPEO_PULL,
                    f"docker://{host}/{repo}:v1",
                    f"oci:{pulled / repo.replace('/', '-')}:t",
                ],
                check=False,
            )
            return out.returncode == 0, out.stderr

        def docker(repo: str) -> tuple[bool, str]:
            out = dockerd.run("pull", "-q", f"{host}/{repo}:v1", check=False)  # type: ignore[attr-defined]
            return out.returncode == 0, out.stderr

        def podman_pull(repo: str) -> tuple[bool, str]:
            out = podman.run("pull", "-q", "--tls-verify=false", f"{host}/{repo}:v1", check=False)
            return out.returncode == 0, out.stderr

        pulled.mkdir()
        for client in (skopeo, docker, podman_pull):
            for repo in ("secure/signed", "open/app"):
                ok, err = client(repo)
                assert ok, f"{client.__name__} could not pull {repo}: {err}"
            for repo, why in (
                ("secure/unsigned", "no signatures found"),
                ("secure/foreign", "does not verify"),
            ):
                ok, err = client(repo)
                assert not ok, f"{client.__name__} pulled {repo}"
                assert "denied" in err.lower() and "requires a signature" in err, (
                    client.__name__,
                    err,
                )
                assert why in err or client is docker, (client.__name__, err)
