"""The GitHub Action (``action.yml``) run step by step as GitHub's runner runs a composite
action (``tests/_infra/actions_runner.py``): inputs and defaults, ``if:``, ``env:``,
``$GITHUB_OUTPUT``, the action's outputs — against a real registry process in projects mode,
with dockyard's own commands doing the work (no Docker daemon)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra.actions_runner import ActionRun, run_action
from _infra.ci_pipeline import KEY_PASSWORD, REPO, CiSetup, build_context
from _infra.projects_registry import ADMIN_PASSWORD

# a real registry process and dockyard subprocesses per step
pytestmark = pytest.mark.slow


def _run(ci: CiSetup, tmp_path: Path, **inputs: str) -> ActionRun:
    return run_action(
        REPO,
        {"install": "false", **inputs},
        workspace=tmp_path,
        env=ci.env,
        scratch=tmp_path / "runner",
        github={"repository": "team/app", "sha": "0" * 40, "ref_name": "main"},
    )


def _failed(run: ActionRun) -> str:
    return "\n".join(
        f"{s.name}: rc={s.returncode}\n{s.stdout}\n{s.stderr}" for s in run.steps if s.returncode
    )


def test_build_push_sign_scan_outputs(ci: CiSetup, tmp_path: Path) -> None:
    context = build_context(tmp_path, "1.0.0")
    repository = f"{ci.host}/team/app"
    run = _run(
        ci,
        tmp_path,
        context=str(context),
        tags=f"{repository}:1.0.0\n{repository}:staging",
        push="true",
        **{"build-args": "VERSION=1.0.0", "labels": "org.example.team=platform"},
        registry=ci.host,
        username="admin",
        password=ADMIN_PASSWORD,
        **{"sign-key": str(ci.keys / "cosign.key"), "sign-key-password": KEY_PASSWORD},
        scan="true",
        **{"sarif-file": str(tmp_path / "scan.sarif")},
    )
    assert not _failed(run), _failed(run)
    ran = [s.name for s in run.steps if not s.skipped]
    assert ran == ["Log in", "Build", "Push", "Sign", "Scan"]

    digest = run.outputs["digest"]
    assert digest.startswith("sha256:")
    assert run.outputs["image"] == f"{repository}@{digest}"
    # both tags point at the pushed digest, as the registry itself says
    for tag in ("1.0.0", "staging"):
        artifact = ci.api(f"/projects/team/repositories/app/artifacts/{tag}")
        assert artifact.status_code == 200, artifact.text
        assert artifact.json()["digest"] == digest
    metadata = json.loads(run.outputs["metadata"])
    assert metadata["containerimage.digest"] == digest
    assert metadata["image.name"] == f"{repository}:1.0.0,{repository}:staging"

    # the image ID is the local image's config digest, with the build-arg and label applied
    inspected = json.loads(
        run_dockyard("image", "inspect", f"{repository}:1.0.0", root=ci.store).stdout
    )[0]
    assert inspected["Id"] == run.outputs["imageid"]
    labels = inspected["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == "1.0.0"
    assert labels["org.example.team"] == "platform"

    # the signature verifies with the public key, on the pushed digest
    verified = run_dockyard(
        "verify",
        "--key",
        ci.keys / "cosign.pub",
        run.outputs["image"],
        root=ci.store,
        env=ci.env,
    )
    payloads = json.loads(verified.stdout)
    assert payloads[0]["critical"]["image"]["docker-manifest-digest"] == digest

    # SARIF ready for code scanning, with the old urllib3's advisories as results
    sarif = json.loads(Path(run.outputs["sarif"]).read_text())
    assert sarif["version"] == "2.1.0"
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert "PYSEC-2019-132" in rules


def test_skipped_steps_and_no_push(ci: CiSetup, tmp_path: Path) -> None:
    """push: false builds only; sign and scan need their inputs; outputs of skipped steps
    are empty, as GitHub gives them."""
    context = build_context(tmp_path, "2.0.0")
    run = _run(ci, tmp_path, context=str(context), tags=f"{ci.host}/team/app:local")
    assert not _failed(run), _failed(run)
    assert [s.name for s in run.steps if not s.skipped] == ["Build"]
    assert run.outputs["imageid"].startswith("sha256:")
    assert run.outputs["digest"] == ""
    missing = ci.api("/projects/team/repositories/app/artifacts/local")
    assert missing.status_code == 404


def test_wrong_password_stops_before_the_build(ci: CiSetup, tmp_path: Path) -> None:
    context = build_context(tmp_path, "3.0.0")
    run = _run(
        ci,
        tmp_path,
        context=str(context),
        tags=f"{ci.host}/team/app:3.0.0",
        push="true",
        registry=ci.host,
        username="admin",
        password="not-the-password",
    )
    login = run.step("Log in")
    assert login.returncode != 0
    assert "refused user 'admin'" in login.stderr
    assert [s.name for s in run.steps] == ["Install dockyard", "Log in"]
    assert ci.api("/projects/team/repositories/app/artifacts/3.0.0").status_code == 404


def test_push_without_tags_says_what_to_set(ci: CiSetup, tmp_path: Path) -> None:
    context = build_context(tmp_path, "4.0.0")
    run = _run(ci, tmp_path, context=str(context), push="true")
    push = run.step("Push")
    assert push.returncode != 0
    assert "set the tags input" in push.stderr


def test_undeclared_input_is_refused(ci: CiSetup, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not declare"):
        _run(ci, tmp_path, tag="x")  # build-push-action's input is `tags`


def test_platforms_input_builds_and_pushes_one_index(ci: CiSetup, tmp_path: Path) -> None:
    """``platforms`` as build-push-action takes it (a comma list) gives one image index with
    a child per platform, pushed and signed by its digest; the outputs name the index."""
    context = build_context(tmp_path, "5.0.0")
    repository = f"{ci.host}/team/multi"
    run = _run(
        ci,
        tmp_path,
        context=str(context),
        tags=f"{repository}:5.0.0",
        platforms="linux/amd64,linux/arm64",
        push="true",
        registry=ci.host,
        username="admin",
        password=ADMIN_PASSWORD,
        **{"sign-key": str(ci.keys / "cosign.key"), "sign-key-password": KEY_PASSWORD},
    )
    assert not _failed(run), _failed(run)
    digest = run.outputs["digest"]
    raw = httpx.get(
        f"{ci.server.url}/v2/team/multi/manifests/{digest}",
        headers={"Accept": "application/vnd.oci.image.index.v1+json"},
        auth=("admin", ADMIN_PASSWORD),
        timeout=30,
    )
    assert raw.status_code == 200, raw.text
    index = raw.json()
    assert index["mediaType"] == "application/vnd.oci.image.index.v1+json"
    platforms = sorted(
        f"{m['platform']['os']}/{m['platform']['architecture']}" for m in index["manifests"]
    )
    assert platforms == ["linux/amd64", "linux/arm64"]
    verified = run_dockyard(
        "verify", "--key", ci.keys / "cosign.pub", run.outputs["image"], root=ci.store, env=ci.env
    )
    payload = json.loads(verified.stdout)[0]
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest


def test_build_takes_platform_repeated_or_comma_separated(ci: CiSetup, tmp_path: Path) -> None:
    """buildx's ``--platform`` is a list: repeated and comma-separated give the same index."""
    context = build_context(tmp_path, "6.0.0")
    ids = []
    for flags in (
        ("--platform", "linux/amd64", "--platform", "linux/arm64"),
        ("--platform", "linux/amd64,linux/arm64"),
    ):
        iid = tmp_path / "iid"
        run_dockyard(
            "build", *flags, "-q", "--iidfile", iid, "-t", "multi:local", context, root=ci.store
        )
        ids.append(iid.read_text())
    assert ids[0] == ids[1]
    for platform, arch in (("linux/amd64", "amd64"), ("linux/arm64", "arm64")):
        inspected = json.loads(
            run_dockyard("inspect", "--platform", platform, "multi:local", root=ci.store).stdout
        )[0]
        assert inspected["Architecture"] == arch


def test_install_step_puts_dockyard_on_the_path_of_later_steps(ci: CiSetup, tmp_path: Path) -> None:
    """``install: true`` (the default): dockyard goes into a venv of its own under
    ``$RUNNER_TEMP`` (a system Python may refuse ``pip install``: PEP 668) and onto
    ``$GITHUB_PATH``, and the build step runs that dockyard — none is on PATH before."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in ci.env["PATH"].split(os.pathsep) if p != venv_bin)
    assert shutil.which("dockyard", path=path) is None
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    context = build_context(tmp_path, "7.0.0")
    run = run_action(
        REPO,
        {"context": str(context), "tags": f"{ci.host}/team/app:installed"},
        workspace=tmp_path,
        env={**ci.env, "PATH": path, "RUNNER_TEMP": str(runner_temp)},
        scratch=tmp_path / "runner",
        github={"repository": "team/app", "sha": "0" * 40, "ref_name": "main"},
    )
    assert not _failed(run), _failed(run)
    assert [s.name for s in run.steps if not s.skipped] == ["Install dockyard", "Build"]
    installed = runner_temp / "dockyard" / "bin"
    assert run.paths == [str(installed)]
    assert (installed / "dockyard").is_file()
    assert run.outputs["imageid"].startswith("sha256:")
