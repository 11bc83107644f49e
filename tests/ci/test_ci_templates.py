"""The GitLab CI template and the example GitHub workflow, run job by job and step by step
(``tests/_infra/gitlab_runner.py``, ``tests/_infra/actions_runner.py``) against a real
projects-mode registry: the guide's update flow — build, push, sign, scan, test, attest,
promote ``prod`` — ends with ``prod`` on the tested digest, and only then."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from _infra.actions_runner import run_workflow_job
from _infra.ci_pipeline import KEY_PASSWORD, REPO, CiSetup, build_context
from _infra.gitlab_runner import run_pipeline
from _infra.projects_registry import ADMIN_PASSWORD

TEMPLATE = REPO / "ci" / "gitlab" / "dockyard.gitlab-ci.yml"
WORKFLOW = REPO / "ci" / "examples" / "github-release.yml"
TEST_RESULT = "https://dockyard.dev/attestations/test-result/v1"

# a real registry process and dockyard subprocesses per step
pytestmark = pytest.mark.slow


def _artifact(ci: CiSetup, repository: str, reference: str) -> dict[str, object] | None:
    found = ci.api(f"/projects/team/repositories/{repository}/artifacts/{reference}")
    if found.status_code == 404:
        return None
    assert found.status_code == 200, found.text
    body: dict[str, object] = found.json()
    return body


def _gitlab_env(ci: CiSetup, **variables: str) -> dict[str, str]:
    return {
        **ci.env,
        "DOCKYARD_SOURCE": str(REPO),
        "DOCKYARD_INSTALL": "false",
        "DOCKYARD_REGISTRY": ci.host,
        "DOCKYARD_USERNAME": "admin",
        "DOCKYARD_PASSWORD": ADMIN_PASSWORD,
        **variables,
    }


def test_gitlab_template_builds_signs_and_scans(ci: CiSetup, tmp_path: Path) -> None:
    project = build_context(tmp_path, "5.0.0")
    image = f"{ci.host}/team/gitlab-app"
    runs = run_pipeline(
        TEMPLATE,
        project_dir=project,
        env=_gitlab_env(
            ci,
            DOCKYARD_TAGS=f"{image}:5.0.0",
            DOCKYARD_BUILD_ARGS="VERSION=5.0.0",
            DOCKYARD_SIGN_KEY=str(ci.keys / "cosign.key"),
            COSIGN_PASSWORD=KEY_PASSWORD,
        ),
        scratch=tmp_path / "runner",
    )
    failed = [r for r in runs if r.returncode]
    assert not failed, "\n".join(f"{r.name}:\n{r.stdout}\n{r.stderr}" for r in failed)
    # no attestation predicate and no promote tag: those jobs' rules keep them out
    assert [r.name for r in runs] == ["dockyard-build", "dockyard-sign", "dockyard-scan"]
    dotenv = dict(
        line.split("=", 1) for line in (project / "dockyard.env").read_text().splitlines()
    )
    artifact = _artifact(ci, "gitlab-app", "5.0.0")
    assert artifact is not None
    assert dotenv["DOCKYARD_DIGEST"] == artifact["digest"]
    assert dotenv["DOCKYARD_IMAGE"] == f"{image}@{artifact['digest']}"
    sarif = json.loads((project / "dockyard-scan.sarif").read_text())
    assert any(r["ruleId"] == "PYSEC-2019-132" for r in sarif["runs"][0]["results"])


def _workflow_workspace(ci: CiSetup, tmp_path: Path, test_script: str) -> Path:
    workspace = build_context(tmp_path, "6.0.0")
    scripts = workspace / "scripts"
    scripts.mkdir()
    (scripts / "test-image.sh").write_text(f"#!/bin/sh\n{test_script}\n")
    (scripts / "test-image.sh").chmod(0o755)
    shutil.copy(ci.keys / "cosign.pub", workspace / "cosign.pub")
    return workspace


def _release(ci: CiSetup, tmp_path: Path, workspace: Path, version: str) -> list[str]:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    run = run_workflow_job(
        WORKFLOW,
        "release",
        action_path=REPO,
        workspace=workspace,
        env=ci.env,
        scratch=tmp_path / "runner",
        github={"ref_name": version, "sha": "1" * 40, "repository": "team/app"},
        secrets={
            "REGISTRY_USER": "admin",
            "REGISTRY_PASSWORD": ADMIN_PASSWORD,
            "COSIGN_KEY": (ci.keys / "cosign.key").read_text(),
            "COSIGN_PASSWORD": KEY_PASSWORD,
        },
        runner={"temp": str(runner_temp)},
        # the example names registry.example.com; the test points it at the local registry,
        # and dockyard is on PATH already (no pip install inside the test)
        input_overrides={"install": "false"},
        env_overrides={"REGISTRY": ci.host, "IMAGE": f"{ci.host}/team/release-app"},
    )
    return [
        f"{s.name}: rc={s.returncode}\n{s.stdout}\n{s.stderr}" for s in run.steps if s.returncode
    ]


def test_example_workflow_promotes_the_tested_digest(ci: CiSetup, tmp_path: Path) -> None:
    workspace = _workflow_workspace(ci, tmp_path, 'test -n "$1"')
    failed = _release(ci, tmp_path, workspace, "v6.0.0")
    assert not failed, "\n".join(failed)
    candidate = _artifact(ci, "release-app", "v6.0.0")
    prod = _artifact(ci, "release-app", "prod")
    assert candidate is not None and prod is not None
    assert prod["digest"] == candidate["digest"]


def test_example_workflow_does_not_promote_when_tests_fail(ci: CiSetup, tmp_path: Path) -> None:
    workspace = _workflow_workspace(ci, tmp_path, "echo 'smoke test failed' >&2; exit 1")
    failed = _release(ci, tmp_path, workspace, "v7.0.0")
    assert len(failed) == 1 and failed[0].startswith("Test the candidate: rc=1")
    candidate = _artifact(ci, "release-app", "v7.0.0")
    assert candidate is not None
    prod = _artifact(ci, "release-app", "prod")
    assert prod is None or prod["digest"] != candidate["digest"]


def _gitlab_release(ci: CiSetup, tmp_path: Path, version: str, **variables: str) -> list[Any]:
    project = build_context(tmp_path, version)
    (project / "test-results.json").write_text('{"result":"passed"}\n')
    shutil.copy(ci.keys / "cosign.pub", project / "cosign.pub")
    image = f"{ci.host}/team/gitlab-release"
    return run_pipeline(
        TEMPLATE,
        project_dir=project,
        env=_gitlab_env(
            ci,
            DOCKYARD_TAGS=f"{image}:{version}",
            DOCKYARD_SIGN_KEY=str(ci.keys / "cosign.key"),
            COSIGN_PASSWORD=KEY_PASSWORD,
            DOCKYARD_ATTEST_PREDICATE="test-results.json",
            DOCKYARD_ATTEST_TYPE=TEST_RESULT,
            DOCKYARD_PROMOTE_TAG="prod",
            DOCKYARD_REQUIRE_SIGNATURE="cosign.pub",
            **variables,
        ),
        scratch=tmp_path / "runner",
    )


def test_gitlab_template_attests_and_promotes(ci: CiSetup, tmp_path: Path) -> None:
    """The release stage: the tested digest gets its attestation, then ``prod`` moves to it,
    the registry checking the signature and attestation gates."""
    runs = _gitlab_release(ci, tmp_path, "8.0.0", DOCKYARD_REQUIRE_ATTESTATION=TEST_RESULT)
    failed = [r for r in runs if r.returncode]
    assert not failed, "\n".join(f"{r.name}:\n{r.stdout}\n{r.stderr}" for r in failed)
    assert [r.name for r in runs] == [
        "dockyard-build", "dockyard-sign", "dockyard-scan", "dockyard-attest", "dockyard-promote"
    ]  # fmt: skip
    built = _artifact(ci, "gitlab-release", "8.0.0")
    prod = _artifact(ci, "gitlab-release", "prod")
    assert built is not None and prod is not None
    assert prod["digest"] == built["digest"]


def test_gitlab_template_does_not_promote_without_the_attestation(
    ci: CiSetup, tmp_path: Path
) -> None:
    """A gate that fails (an attestation type nobody attached) fails the promote job and
    leaves ``prod`` where it was."""
    before = _artifact(ci, "gitlab-release", "prod")
    runs = _gitlab_release(
        ci, tmp_path, "9.0.0", DOCKYARD_REQUIRE_ATTESTATION="https://example.com/never/v1"
    )
    failed = [r for r in runs if r.returncode]
    assert [r.name for r in failed] == ["dockyard-promote"]
    assert "https://example.com/never/v1" in failed[0].stdout + failed[0].stderr
    built = _artifact(ci, "gitlab-release", "9.0.0")
    after = _artifact(ci, "gitlab-release", "prod")
    assert built is not None
    assert after == before or (after is not None and after["digest"] != built["digest"])
