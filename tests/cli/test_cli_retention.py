"""``dockyard retention``: the command-line contract, then end to end against dockyard's
registry in projects mode (a real server process): a policy set from a JSON file, shown, dry
run (listing what would go, deleting nothing), run (deleting exactly that), and the history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, json_lines
from _infra.registry_server import push_image
from _infra.team_cli import ADMIN_PASSWORD, Team, team_registry

POLICY = {
    "rules": [
        {
            "template": "latestPushedK",
            "params": {"latestPushedK": 2},
            "tag_selectors": [{"kind": "doublestar", "decoration": "matches", "pattern": "v*"}],
            "scope_selectors": {
                "repository": [{"kind": "doublestar", "decoration": "repoMatches", "pattern": "**"}]
            },
        }
    ],
    "trigger": {"kind": "Schedule", "settings": {"cron": "0 0 3 * * *"}},
}


def test_help(dockyard_root: Path) -> None:
    text = assert_help(dockyard_root, "retention")
    for verb in ("show", "set", "run", "executions", "rm"):
        assert verb in text
    assert "--dry-run" in assert_help(dockyard_root, "retention", "run")
    assert "  retention " in run_dockyard("--help", root=dockyard_root).stdout


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    with team_registry(tmp_path_factory.mktemp("retention-cli")) as team:
        with httpx.Client(base_url=team.registry.url, auth=("admin", ADMIN_PASSWORD)) as c:
            for n in range(4):
                push_image(c, "team/app", f"v{n}", seed=f"cli{n}")
        yield team


@pytest.mark.slow
def test_set_show_dry_run_run_and_history(team: Team, tmp_path: Path) -> None:
    done = team.run("retention", "show", "team", check=False)
    assert done.returncode != 0 and "no retention policy" in done.stderr
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(json.dumps(POLICY))
    team.run("retention", "set", "team", str(policy_file))
    shown = json.loads(team.run("retention", "show", "team", "--format", "json").stdout)
    assert shown["rules"][0]["params"] == {"latestPushedK": 2}
    assert shown["trigger"]["settings"]["cron"] == "0 0 3 * * *"
    assert "latestPushedK=2" in team.run("retention", "show", "team").stdout

    dry = json_lines(team.run("retention", "run", "team", "--dry-run", "--format", "json").stdout)
    assert sorted((r["tags"], r["action"]) for r in dry) == [(["v0"], "DEL"), (["v1"], "DEL")]
    tags = httpx.get(f"{team.registry.url}/v2/team/app/tags/list", auth=("admin", ADMIN_PASSWORD))
    assert tags.json()["tags"] == ["v0", "v1", "v2", "v3"]

    done = team.run("retention", "run", "team")
    assert "deleted 2 artifact(s)" in done.stderr
    assert {r for r in done.stdout.split() if r.startswith("v")} == {"v0", "v1"}
    tags = httpx.get(f"{team.registry.url}/v2/team/app/tags/list", auth=("admin", ADMIN_PASSWORD))
    assert tags.json()["tags"] == ["v2", "v3"]

    runs = json_lines(team.run("retention", "executions", "team", "--format", "json").stdout)
    assert [(r["dry_run"], r["status"]) for r in runs] == [(False, "Success"), (True, "Success")]
    team.run("retention", "rm", "team")
    assert team.run("retention", "show", "team", check=False).returncode != 0
