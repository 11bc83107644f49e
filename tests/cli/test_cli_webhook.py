"""``dockyard webhook``: the command-line contract, then end to end against dockyard's
registry in projects mode (a real server process) and a real local receiver: a policy added,
listed, an event delivered (signed with the secret given), its delivery log, the policy
removed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, json_lines
from _infra.registry_server import push_image
from _infra.team_cli import ADMIN_PASSWORD, Team, team_registry
from _infra.webhook_sink import WebhookReceiver, valid_signature


def test_help(dockyard_root: Path) -> None:
    text = assert_help(dockyard_root, "webhook")
    for verb in ("ls", "add", "rm", "log"):
        assert verb in text
    assert "--cloudevents" in assert_help(dockyard_root, "webhook", "add")
    assert "  webhook " in run_dockyard("--help", root=dockyard_root).stdout


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    with team_registry(tmp_path_factory.mktemp("webhook-cli")) as team:
        yield team


@pytest.mark.slow
def test_add_list_deliver_log_and_remove(team: Team) -> None:
    with WebhookReceiver() as receiver:
        out = team.run("webhook", "add", "team", f"{receiver.url}/ci", "--name", "ci",
                       "--event", "PUSH_ARTIFACT", "--secret", "cli-secret",
                       "--format", "json")  # fmt: skip
        [added] = json_lines(out.stdout)
        assert added["name"] == "ci" and added["secret"] == "cli-secret"
        assert added["event_types"] == ["PUSH_ARTIFACT"]
        listed = json_lines(team.run("webhook", "ls", "team", "--format", "json").stdout)
        assert [p["id"] for p in listed] == [added["id"]]
        assert f"{receiver.url}/ci" in team.run("webhook", "ls", "team").stdout
        with httpx.Client(base_url=team.registry.url, auth=("admin", ADMIN_PASSWORD)) as client:
            push_image(client, "team/app", "v1", seed="cli-hook")
        [got] = receiver.wait_for(1)
        assert got.json()["type"] == "PUSH_ARTIFACT"
        assert valid_signature("cli-secret", got, "X-Dockyard-Signature-256")
        deadline = time.monotonic() + 20
        while True:
            log = json_lines(team.run("webhook", "log", "team", str(added["id"]),
                                      "--format", "json").stdout)  # fmt: skip
            if (log and log[0]["status"] == "Success") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        [delivery] = log
        assert delivery["event_type"] == "PUSH_ARTIFACT" and delivery["attempts"] == 1
        assert "-> 204" in delivery["log"]
        assert "Success" in team.run("webhook", "log", "team", str(added["id"])).stdout
    team.run("webhook", "rm", "team", str(added["id"]))
    assert json_lines(team.run("webhook", "ls", "team", "--format", "json").stdout) == []
    done = team.run("webhook", "rm", "team", str(added["id"]), check=False)
    assert done.returncode != 0 and "not found" in done.stderr
