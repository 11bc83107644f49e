"""``dockyard project|user|robot|audit``: the command-line contract (help, usage errors exit
125, which registry, --format json shapes), then end to end against dockyard's registry in
projects mode with real docker-style logins."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, json_lines, run_in_process
from _infra.registry_server import RegistryProcess, free_port, start_registry
from dockyard.registry.harbor._routes import ROUTES

ADMIN_PASSWORD = "Harbor12345"
PASSWORD = "Secret123"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An empty docker config (no logins) and no registries config."""
    (tmp_path / "docker").mkdir()
    return {
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "DOCKYARD_REGISTRIES_CONFIG": str(tmp_path / "no-registries.json"),
        "DOCKYARD_REGISTRY": "",
    }


# --- help and usage ---------------------------------------------------------------------------

HELP = [
    ("project",),
    ("project", "create"),
    ("project", "ls"),
    ("project", "inspect"),
    ("project", "rm"),
    ("project", "member"),
    ("project", "member", "add"),
    ("project", "member", "ls"),
    ("project", "member", "update"),
    ("project", "member", "rm"),
    ("project", "quota", "set"),
    ("project", "quota", "inspect"),
    ("user",),
    ("user", "create"),
    ("user", "ls"),
    ("user", "rm"),
    ("user", "passwd"),
    ("user", "set-admin"),
    ("user", "cli-secret"),
    ("robot",),
    ("robot", "create"),
    ("robot", "ls"),
    ("robot", "rm"),
    ("robot", "refresh"),
    ("robot", "disable"),
    ("robot", "enable"),
    ("audit", "ls"),
]


def test_help(dockyard_root: Path) -> None:
    for command in HELP:
        text = assert_help(dockyard_root, *command)
        if len(command) > 1 and command[-1] not in ("member", "quota"):
            assert "--registry URL" in text and "--format [table|json]" in text, command
    top = run_in_process("--help", root=dockyard_root).stdout
    for name in ("audit", "project", "robot", "user"):
        assert f"  {name} " in top


USAGE = [
    (["project", "member", "add", "team", "--role", "developer"], "name a USER or a --group"),
    (
        ["project", "member", "add", "team", "bob", "--group", "cn=devs", "--role", "guest"],
        "name a USER or a --group",
    ),
    (["project", "member", "add", "team", "bob"], "Missing option '--role'"),
    (["project", "member", "add", "team", "bob", "--role", "owner"], "Invalid value for '--role'"),
    (["project", "member", "rm", "team"], "name a USER or a --group"),
    (["project", "create", "team", "--storage-limit", "lots"], "size 'lots' is not a number"),
    (["project", "create", "team", "--metadata", "auto_scan"], "is not KEY=VALUE"),
    (["project", "create", "team", "--metadata", "public=true"], "use --public"),
    (["project", "quota", "set", "team", "5X"], "size '5X' is not a number"),
    (["project", "create"], "Missing argument 'NAME'"),
    (["project", "ls", "--format", "yaml"], "Invalid value for '--format'"),
    (["robot", "create", "ci"], "Missing option '--permission'"),
    (["robot", "create", "ci", "--permission", "repository:pull"], "not KIND:NAMESPACE"),
    (
        ["robot", "create", "ci", "--project", "team", "--permission", "project:x:repository:pull"],
        "is not for project 'team'",
    ),
    (
        ["robot", "create", "ci", "--permission", "system:/:project:create", "--duration", "0"],
        "--duration 0",
    ),
    (["audit", "ls", "--since", "yesterday"], "neither a duration nor a date"),
    (["audit", "ls", "--user", "a,b"], "give a plain name"),
    (["audit", "ls", "--limit", "0"], "Invalid value for '--limit'"),
    (["user", "set-admin"], "Missing argument 'USERNAME'"),
]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_exit_125_before_any_network(
    dockyard_root: Path, env: dict[str, str], args: list[str], message: str
) -> None:
    """Checked before connecting: the registry named is not even listening."""
    closed = f"http://127.0.0.1:{free_port()}"
    extra = ["--registry", closed] if args[-1] not in ("create", "set-admin") else []
    result = run_in_process(*args, *extra, root=dockyard_root, env=env, check=False)
    assert_usage_error(result, message)


# --- which registry ---------------------------------------------------------------------------


def test_no_registry_given_and_none_logged_in(dockyard_root: Path, env: dict[str, str]) -> None:
    result = run_in_process("project", "ls", root=dockyard_root, env=env, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: no registry given and none logged in to")
    assert "pass --registry URL" in result.stderr


def test_several_logged_in_means_say_which(
    dockyard_root: Path, env: dict[str, str], tmp_path: Path
) -> None:
    auths = {"a.example:5000": {"auth": "YTpi"}, "b.example": {"auth": "YTpi"}}
    (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": auths}))
    result = run_in_process("user", "ls", root=dockyard_root, env=env, check=False)
    assert result.returncode == 1
    assert "several logged in to (a.example:5000, b.example)" in result.stderr
    assert "--registry" in result.stderr


@pytest.mark.slow
def test_unreachable_registry_is_an_error(dockyard_root: Path, env: dict[str, str]) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run_in_process(
        "audit", "ls", "--registry", closed, root=dockyard_root, env=env, check=False
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: reach the API of 127.0.0.1:"), result.stderr
    assert "cannot connect" in result.stderr


@pytest.mark.slow
def test_a_registry_without_the_team_api_says_so(
    dockyard_root: Path, env: dict[str, str], tmp_path: Path
) -> None:
    """A plain dockyard registry (no auth) answers /api/v2.0 but has no such projects."""
    with start_registry(tmp_path / "plain") as registry:
        result = run_in_process(
            "project", "inspect", "nope", "--registry", registry.url,
            root=dockyard_root, env=env, check=False,
        )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: inspect project nope: "), result.stderr


# --- end to end: dockyard's registry in projects mode ---------------------------------------------


#: Harbor's operation ids of every endpoint the CLI calls.
TEAM_OPERATIONS = {
    "createProject", "listProjects", "getProject", "deleteProject",
    "listProjectMembers", "createProjectMember", "updateProjectMember", "deleteProjectMember",
    "listQuotas", "updateQuota",
    "listUsers", "createUser", "searchUsers", "deleteUser", "updateUserPassword",
    "setUserSysAdmin", "setCliSecret",
    "ListRobot", "CreateRobot", "GetRobotByID", "UpdateRobot", "RefreshSec", "DeleteRobot",
    "listAuditLogs",
}  # fmt: skip


def test_the_registry_routes_every_operation_the_cli_calls() -> None:
    """dockyard's /api/v2.0 serves each Harbor operation the team commands call."""
    served = {route.operation_id for route in ROUTES}
    assert TEAM_OPERATIONS - served == set()


class Team:
    """A projects-mode registry and a dockyard CLI logged in to it as admin (the logins run the
    console script; the commands run in process)."""

    def __init__(self, registry: RegistryProcess, root: Path, env: dict[str, str]) -> None:
        self.registry = registry
        self.root = root
        self.env = env

    def run(self, *args: str, check: bool = True, input: str | None = None) -> Any:
        return run_in_process(*args, root=self.root, env=self.env, check=check, input=input)

    def json(self, *args: str) -> Any:
        out = self.run(*args, "--format", "json").stdout
        return json.loads(out)

    def lines(self, *args: str) -> list[dict[str, Any]]:
        return json_lines(self.run(*args, "--format", "json").stdout)

    def login(self, user: str, password: str, config: Path) -> dict[str, str]:
        env = {**self.env, "DOCKER_CONFIG": str(config)}
        run_dockyard(
            "login", "-u", user, "--password-stdin", self.registry.host,
            root=self.root, env=env, input=password + "\n",
        )  # fmt: skip
        return env


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    base = tmp_path_factory.mktemp("teams")
    env = {
        "REGISTRY_AUTH": "projects",
        "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "DOCKER_CONFIG": str(base / "docker"),
        "DOCKYARD_REGISTRIES_CONFIG": str(base / "no-registries.json"),
        "DOCKYARD_REGISTRY": "",
    }
    root = base / "store"
    root.mkdir()
    with start_registry(base / "registry", env=env) as registry:
        t = Team(registry, root, env)
        t.login("admin", ADMIN_PASSWORD, base / "docker")
        yield t


@pytest.mark.slow
def test_projects_create_ls_inspect_quota_rm(team: Team) -> None:
    created = team.json(
        "project", "create", "team", "--storage-limit", "1G", "--metadata", "auto_scan=true"
    )
    assert created["name"] == "team" and created["metadata"]["public"] == "false"
    assert created["metadata"]["auto_scan"] == "true"
    team.run("project", "create", "pub", "--public")
    again = team.run("project", "create", "team", check=False)
    assert again.returncode == 1 and again.stderr.startswith("Error: create project team: ")
    names = {p["name"] for p in team.lines("project", "ls")}
    assert {"team", "pub"} <= names
    assert {p["name"] for p in team.lines("project", "ls", "--public")} >= {"pub"}
    assert "team" not in {p["name"] for p in team.lines("project", "ls", "--public")}
    table = team.run("project", "ls").stdout.splitlines()
    assert table[0].split() == ["NAME", "ID", "PUBLIC", "OWNER", "REPOSITORIES", "CREATED"]
    inspected = team.json("project", "inspect", "team")
    assert inspected["project_id"] == created["project_id"]
    quota = team.json("project", "quota", "inspect", "team")
    assert quota["hard"]["storage"] == 2**30
    assert team.json("project", "quota", "set", "team", "2G")["hard"]["storage"] == 2 * 2**30
    assert team.json("project", "quota", "inspect", "team")["hard"]["storage"] == 2 * 2**30
    assert team.json("project", "rm", "pub") == {"name": "pub", "deleted": True}
    gone = team.run("project", "inspect", "pub", check=False)
    assert gone.returncode == 1 and gone.stderr.startswith("Error: inspect project pub: ")


@pytest.mark.slow
def test_users_members_and_roles(team: Team, tmp_path: Path) -> None:
    team.run("project", "create", "crew")
    user = team.run("user", "create", "bob", "--email", "bob@example.com", "--password-stdin",
                    "--format", "json", input=PASSWORD + "\n")  # fmt: skip
    assert json.loads(user.stdout)["username"] == "bob"
    listed = {u["username"]: u for u in team.lines("user", "ls")}
    assert listed["bob"]["sysadmin_flag"] is False and listed["admin"]["sysadmin_flag"] is True
    member = team.json("project", "member", "add", "crew", "bob", "--role", "developer")
    assert (member["entity_name"], member["entity_type"], member["role_id"]) == ("bob", "u", 2)
    members = {m["entity_name"]: m for m in team.lines("project", "member", "ls", "crew")}
    assert members["bob"]["role_id"] == 2
    updated = team.json("project", "member", "update", "crew", "bob", "--role", "maintainer")
    assert updated["role_id"] == 4
    # bob, logged in with his own password, sees the private project he is a member of
    bob_env = team.login("bob", PASSWORD, tmp_path / "bob")
    seen = run_dockyard(
        "project", "ls", "--format", "json", root=team.root, env=bob_env
    ).stdout  # fmt: skip
    assert "crew" in {p["name"] for p in json_lines(seen)}
    denied = run_dockyard("user", "ls", root=team.root, env=bob_env, check=False)
    assert denied.returncode == 1 and denied.stderr.startswith("Error: list users: ")
    # a CLI secret works as a password for docker-style logins
    secret = team.json("user", "cli-secret", "bob")["secret"]
    team.login("bob", secret, tmp_path / "bob-secret")
    team.run("user", "set-admin", "bob")
    assert {u["username"]: u for u in team.lines("user", "ls")}["bob"]["sysadmin_flag"] is True
    team.run("user", "set-admin", "bob", "--revoke")
    team.run("user", "passwd", "bob", "--password-stdin", input="Another123\n")
    team.login("bob", "Another123", tmp_path / "bob-new")
    assert team.json("project", "member", "rm", "crew", "bob")["entity_name"] == "bob"
    assert "bob" not in {m["entity_name"] for m in team.lines("project", "member", "ls", "crew")}
    team.run("user", "rm", "bob")
    missing = team.run("user", "rm", "bob", check=False)
    assert missing.returncode == 1 and "no user bob" in missing.stderr


@pytest.mark.slow
def test_robots_create_refresh_disable_rm(team: Team, tmp_path: Path) -> None:
    team.run("project", "create", "bots")
    created = team.json(
        "robot", "create", "ci", "--project", "bots",
        "--permission", "repository:pull,push", "--duration", "-1",
    )  # fmt: skip
    assert created["name"] == "robot$bots+ci" and created["secret"] and created["expires_at"] == -1
    team.login(created["name"], created["secret"], tmp_path / "robot")
    robots = {r["name"]: r for r in team.lines("robot", "ls", "--project", "bots")}
    actions = {
        (a["resource"], a["action"])
        for p in robots["robot$bots+ci"]["permissions"]
        for a in p["access"]
    }
    assert actions == {("repository", "pull"), ("repository", "push")}
    refreshed = team.json("robot", "refresh", "ci", "--project", "bots")
    assert refreshed["secret"] and refreshed["secret"] != created["secret"]
    team.login(created["name"], refreshed["secret"], tmp_path / "robot-new")
    stale = run_dockyard(
        "login", "-u", created["name"], "--password-stdin", team.registry.host,
        root=team.root, env={**team.env, "DOCKER_CONFIG": str(tmp_path / "stale")},
        input=created["secret"] + "\n", check=False,
    )  # fmt: skip
    assert stale.returncode == 1
    assert team.json("robot", "disable", "robot$bots+ci")["disable"] is True
    disabled = run_dockyard(
        "login", "-u", created["name"], "--password-stdin", team.registry.host,
        root=team.root, env={**team.env, "DOCKER_CONFIG": str(tmp_path / "off")},
        input=refreshed["secret"] + "\n", check=False,
    )  # fmt: skip
    assert disabled.returncode == 1
    assert team.json("robot", "enable", "robot$bots+ci")["disable"] is False
    system = team.json(
        "robot", "create", "auditor", "--permission", "system:/:audit-log:list", "--duration", "7"
    )
    assert system["name"] == "robot$auditor" and system["expires_at"] > 0
    team.run("robot", "rm", "ci", "--project", "bots")
    team.run("robot", "rm", str(system["id"]))
    names = {r["name"] for r in team.lines("robot", "ls")}
    assert not names & {"robot$bots+ci", "robot$auditor"}


@pytest.mark.slow
def test_audit_log_filters(team: Team) -> None:
    team.run("project", "create", "audited")
    entries = team.lines("audit", "ls", "--since", "1h", "--limit", "50")
    assert entries and all(
        set(e) == {"id", "username", "resource", "resource_type", "operation", "op_time"}
        for e in entries
    )
    times = [e["op_time"] for e in entries]
    assert times == sorted(times, reverse=True)
    created = team.lines("audit", "ls", "--operation", "create", "--user", "admin")
    assert any(e["resource"] == "audited" for e in created)
    assert all(e["operation"] == "create" and e["username"] == "admin" for e in created)
    assert len(team.lines("audit", "ls", "--limit", "1")) == 1
    assert team.lines("audit", "ls", "--since", "2999-01-01") == []
    table = team.run("audit", "ls", "--limit", "3").stdout.splitlines()
    assert table[0].split() == ["TIME", "USER", "OPERATION", "TYPE", "RESOURCE"]
