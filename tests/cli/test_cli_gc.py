"""``dockyard gc`` and ``dockyard untag``: the command-line contract, then end to end against
dockyard's registry in projects mode (a real server process): a tag removed while its
manifest stays, a dry run that deletes nothing, a run that takes the untagged manifest's
blobs, the schedule set, shown and removed, the history and a run's log."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, json_lines
from _infra.registry_server import push_image
from _infra.team_cli import ADMIN_PASSWORD, Team, team_registry


def test_help(dockyard_root: Path) -> None:
    text = assert_help(dockyard_root, "gc")
    for verb in ("run", "history", "show", "log", "stop", "schedule"):
        assert verb in text
    run = assert_help(dockyard_root, "gc", "run")
    for flag in ("--dry-run", "--delete-untagged", "--workers", "--time-window", "--format"):
        assert flag in run
    assert "PROJECT/REPO:TAG" in assert_help(dockyard_root, "untag")
    listed = run_dockyard("--help", root=dockyard_root).stdout
    assert "  gc " in listed and "  untag " in listed


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    for args, said in [
        (("gc", "run", "--workers", "9"), "--workers"),
        (("gc", "schedule", "set", "every tuesday"), "6 fields"),
        (("untag",), "Missing argument"),
        (("untag", "app:v1"), "no repository inside a project"),
        (("untag", "team/app@sha256:" + "a" * 64), "untag takes a tag"),
    ]:
        done = run_dockyard(*args, "--registry", "127.0.0.1:1", root=dockyard_root, check=False)
        assert done.returncode == 125, (args, done.stderr)
        assert said in done.stderr, (args, done.stderr)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    env = {"REGISTRY_STORAGE_DELETE_ENABLED": "true"}
    with team_registry(tmp_path_factory.mktemp("gc-cli"), env) as team:
        yield team


def _tags(team: Team) -> list[str]:
    r = httpx.get(f"{team.registry.url}/v2/team/app/tags/list", auth=("admin", ADMIN_PASSWORD))
    return sorted(r.json()["tags"] or [])


@pytest.mark.slow
def test_untag_then_gc_run_history_log_and_schedule(team: Team) -> None:
    with httpx.Client(base_url=team.registry.url, auth=("admin", ADMIN_PASSWORD)) as c:
        keep = push_image(c, "team/app", "v1", seed="gc-keep")
        gone = push_image(c, "team/app", "rc1", seed="gc-gone")

    done = team.run("untag", f"{team.registry.host}/team/app:rc1")
    assert done.stdout.strip() == "Untagged: team/app:rc1"
    assert _tags(team) == ["v1"]
    by_digest = httpx.get(f"{team.registry.url}/v2/team/app/manifests/{gone.digest}",
                          auth=("admin", ADMIN_PASSWORD),
                          headers={"accept": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert by_digest.status_code == 200  # the manifest stays
    missing = team.run("untag", "team/app:rc1", check=False)
    assert missing.returncode == 1 and "rc1" in missing.stderr

    # a dry run deletes nothing; a run with --delete-untagged takes rc1's manifest and blobs
    dry = team.run("gc", "run", "--dry-run", "--delete-untagged", "--time-window", "0")
    assert "Success" in dry.stderr
    assert httpx.head(f"{team.registry.url}/v2/team/app/manifests/{gone.digest}",
                      auth=("admin", ADMIN_PASSWORD)).status_code == 200  # fmt: skip
    real = team.run("gc", "run", "--delete-untagged", "--time-window", "0", "--format", "json")
    run = json.loads(real.stdout)
    assert run["job_status"] == "Success"
    assert json.loads(run["job_parameters"])["delete_untagged"] is True
    assert httpx.head(f"{team.registry.url}/v2/team/app/manifests/{gone.digest}",
                      auth=("admin", ADMIN_PASSWORD)).status_code == 404  # fmt: skip
    layer = "sha256:" + hashlib.sha256(gone.layers[0]).hexdigest()
    assert httpx.head(f"{team.registry.url}/v2/team/app/blobs/{layer}",
                      auth=("admin", ADMIN_PASSWORD)).status_code == 404  # fmt: skip
    assert httpx.head(f"{team.registry.url}/v2/team/app/manifests/{keep.digest}",
                      auth=("admin", ADMIN_PASSWORD)).status_code == 200  # fmt: skip

    history = json_lines(team.run("gc", "history", "--format", "json").stdout)
    assert [h["id"] for h in history][:2] == [run["id"], run["id"] - 1]
    assert [json.loads(h["job_parameters"])["dry_run"] for h in history[:2]] == [False, True]
    log = team.run("gc", "log", str(run["id"])).stdout
    assert log.strip(), "a run's log is not empty"
    shown = json.loads(team.run("gc", "show", str(run["id"]), "--format", "json").stdout)
    assert shown["id"] == run["id"] and shown["job_status"] == "Success"

    assert "no gc schedule" in team.run("gc", "schedule", "show").stdout
    team.run("gc", "schedule", "set", "0 0 3 * * *", "--workers", "2")
    schedule = json.loads(team.run("gc", "schedule", "show", "--format", "json").stdout)
    assert schedule["schedule"]["type"] == "Custom"
    assert schedule["schedule"]["cron"] == "0 0 3 * * *"
    assert json.loads(schedule["job_parameters"])["workers"] == 2
    team.run("gc", "schedule", "set", "daily")
    daily = json.loads(team.run("gc", "schedule", "show", "--format", "json").stdout)
    assert daily["schedule"]["type"] == "Daily"
    team.run("gc", "schedule", "rm")
    assert "no gc schedule" in team.run("gc", "schedule", "show").stdout
