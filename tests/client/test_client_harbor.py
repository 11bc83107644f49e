"""dockyard.client.harbor: its records hold Harbor's swagger shapes, its values parse what users
type, and its HTTP layer pages, authenticates and maps errors against a real registry process
(dockyard's /api/v2.0 repositories listing, served today in htpasswd mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest

from _infra.harbor_api import validate
from _infra.registry_server import RegistryProcess, push_image, start_registry
from dockyard.client import ClientOptions, Credentials, CredentialStore
from dockyard.client.harbor import (
    Access,
    AuditLog,
    Member,
    Project,
    Quota,
    Robot,
    RobotPermission,
    RobotSecret,
    User,
    as_json,
    connect,
    group_permissions,
    harbor_error,
    logged_in_registries,
    new_cli_secret,
    parse_permission,
    parse_since,
    parse_size,
    resolve_registry,
    role_id,
    role_name,
)
from dockyard.errors import (
    AlreadyExists,
    Conflict,
    Denied,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)

DEFINITIONS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "harbor_team_definitions.json").read_text()
)["definitions"]
USER, PASSWORD = "alice", "Secret123"
T = "2024-05-01T10:20:30.123Z"

# --- the records are Harbor's shapes --------------------------------------------------------

EXAMPLES: list[tuple[str, type[Any], dict[str, Any]]] = [
    (
        "Project",
        Project,
        {
            "project_id": 3,
            "name": "team",
            "owner_id": 1,
            "owner_name": "admin",
            "repo_count": 2,
            "creation_time": T,
            "update_time": T,
            "metadata": {"public": "true", "auto_scan": "false"},
        },
    ),
    (
        "ProjectMemberEntity",
        Member,
        {
            "id": 7,
            "project_id": 3,
            "entity_name": "bob",
            "entity_type": "u",
            "entity_id": 4,
            "role_id": 2,
            "role_name": "developer",
        },
    ),
    (
        "UserResp",
        User,
        {
            "user_id": 4,
            "username": "bob",
            "email": "bob@example.com",
            "realname": "Bob",
            "comment": "",
            "sysadmin_flag": False,
            "admin_role_in_auth": False,
            "creation_time": T,
            "update_time": T,
        },
    ),
    (
        "Robot",
        Robot,
        {
            "id": 9,
            "name": "robot$team+ci",
            "description": "CI",
            "level": "project",
            "duration": 30,
            "editable": True,
            "disable": False,
            "expires_at": 1_717_000_000,
            "permissions": [
                {
                    "kind": "project",
                    "namespace": "team",
                    "access": [
                        {"resource": "repository", "action": "pull", "effect": "allow"},
                        {"resource": "repository", "action": "push", "effect": "allow"},
                    ],
                }
            ],
            "creation_time": T,
            "update_time": T,
        },
    ),
    (
        "RobotCreated",
        RobotSecret,
        {
            "id": 9,
            "name": "robot$team+ci",
            "secret": "S3cretS3cret",
            "creation_time": T,
            "expires_at": -1,
        },
    ),
    (
        "Quota",
        Quota,
        {
            "id": 2,
            "ref": {"id": 3, "name": "team", "owner_name": "admin"},
            "hard": {"storage": 10 * 2**30},
            "used": {"storage": 1234},
            "creation_time": T,
            "update_time": T,
        },
    ),
    (
        "AuditLog",
        AuditLog,
        {
            "id": 11,
            "username": "alice",
            "resource": "team/app:v1",
            "resource_type": "artifact",
            "operation": "create",
            "op_time": T,
        },
    ),
]


@pytest.mark.parametrize(("definition", "cls", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_records_read_and_write_harbor_shapes(
    definition: str, cls: type[Any], example: dict[str, Any]
) -> None:
    """The example is Harbor's shape; the record keeps its values; the record's JSON (what
    ``--format json`` prints) is Harbor's shape too, with Harbor's field names."""
    ref = {"$ref": f"#/definitions/{definition}"}
    validate(example, ref, DEFINITIONS)
    record = cls.from_json(example)
    out = as_json(record)
    validate(out, ref, DEFINITIONS)
    for key, value in out.items():
        assert example[key] == value, key


def test_records_tolerate_missing_and_odd_fields() -> None:
    project = Project.from_json({"project_id": "5", "name": "p", "metadata": {"public": "TRUE"}})
    assert project.project_id == 5 and project.public
    assert not Project.from_json({"name": "q"}).public
    robot = Robot.from_json({"id": 1, "name": "robot$x", "level": "system", "permissions": "no"})
    assert robot.permissions == () and robot.duration == -1 and robot.expires_at == -1
    assert User.from_json({"user_id": True, "username": "u"}).user_id == 0


# --- values ------------------------------------------------------------------------------


def test_roles_are_harbors_ids() -> None:
    assert [role_id(n) for n in ("projectAdmin", "developer", "guest", "maintainer")] == [
        1,
        2,
        3,
        4,
    ]
    assert role_id("LIMITEDGUEST") == 5 and role_name(4) == "maintainer" and role_name(9) == "9"
    with pytest.raises(InvalidArgument, match="unknown role 'owner'"):
        role_id("owner")


def test_permissions_parse_and_group() -> None:
    specs = [
        parse_permission("project:team:repository:pull,push"),
        parse_permission("artifact:delete", project="team"),
        parse_permission("project:team:repository:pull"),
        parse_permission("system:/:project:create"),
    ]
    assert group_permissions(specs) == [
        RobotPermission(
            "project",
            "team",
            (
                Access("repository", "pull"),
                Access("repository", "push"),
                Access("artifact", "delete"),
            ),
        ),
        RobotPermission("system", "/", (Access("project", "create"),)),
    ]
    for bad, message in [
        ("repository:pull", "not KIND:NAMESPACE:RESOURCE:ACTIONS"),
        ("team:x:repository:pull", "the kind must be project or system"),
        ("system:team:project:create", "namespace is '/'"),
        ("project:team:repository:", "name a resource and its actions"),
        ("project:a b:repository:pull", "is not a project name"),
    ]:
        with pytest.raises(InvalidArgument, match=message):
            parse_permission(bad)
    with pytest.raises(InvalidArgument, match="is not for project 'team'"):
        parse_permission("project:other:repository:pull", project="team")


def test_sizes_are_binary_and_minus_one_is_unlimited() -> None:
    assert parse_size("1024") == 1024
    assert parse_size("10G") == parse_size("10GiB") == parse_size("10gb") == 10 * 2**30
    assert parse_size("1.5M") == 3 * 2**19
    assert parse_size("-1") == -1
    for bad in ("", "ten", "5X", "-2", "1e3"):
        with pytest.raises(InvalidArgument):
            parse_size(bad)


def test_since_takes_durations_and_dates() -> None:
    now = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)
    assert parse_since("24h", now=now) == datetime(2024, 5, 9, 12, 0, tzinfo=UTC)
    assert parse_since("2w", now=now) == datetime(2024, 4, 26, 12, 0, tzinfo=UTC)
    assert parse_since("2024-05-01", now=now) == datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_since("2024-05-01T12:00:00+02:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(InvalidArgument, match="neither a duration nor a date"):
        parse_since("yesterday")


def test_cli_secrets_meet_harbors_rule() -> None:
    secrets = {new_cli_secret() for _ in range(50)}
    assert len(secrets) == 50
    for s in secrets:
        assert len(s) == 32 and s.isalnum()
        assert any(c.isupper() for c in s) and any(c.islower() for c in s)
        assert any(c.isdigit() for c in s)


def test_harbor_error_bodies_become_categories() -> None:
    def body(code: str, message: str) -> bytes:
        return json.dumps({"errors": [{"code": code, "message": message}]}).encode()

    cases: list[tuple[int, bytes, type[Exception]]] = [
        (400, body("BAD_REQUEST", "bad page"), InvalidArgument),
        (401, body("UNAUTHORIZED", "who are you"), Unauthorized),
        (403, body("FORBIDDEN", "not yours"), Denied),
        (404, body("NOT_FOUND", "project nope not found"), NotFound),
        (409, body("CONFLICT", "project team already exists"), AlreadyExists),
        (409, body("CONFLICT", "in use"), Conflict),
        (412, body("PRECONDITION", "project has repositories"), FailedPrecondition),
        (429, body("TOO_MANY_REQUESTS", "slow down"), RateLimited),
        (500, b"<html>oops</html>", Unavailable),
    ]
    for status, raw, category in cases:
        error = harbor_error(status, raw, what="do it", registry="reg:5000", retry_after="7")
        assert type(error) is category, (status, error)
        assert str(error).startswith("do it: ")
    error = harbor_error(404, body("NOT_FOUND", "project nope not found"), what="x", registry="r")
    assert error.message == "x: project nope not found"
    limited = harbor_error(429, b"", what="x", registry="r", retry_after="7")
    assert isinstance(limited, RateLimited) and limited.retry_after == 7
    unauthorized = harbor_error(401, b"", what="x", registry="reg:5000")
    assert "dockyard login reg:5000" in str(unauthorized)
    assert harbor_error(503, b"", what="x", registry="r").retryable


# --- which registry ------------------------------------------------------------------------


def test_the_registry_is_the_only_one_logged_in_to(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path / "docker")
    with pytest.raises(InvalidArgument, match="none logged in to") as none:
        resolve_registry(None, store)
    assert "--registry" in str(none.value)
    store.store("127.0.0.1:5000", Credentials("alice", "pw"))
    assert logged_in_registries(store) == ["127.0.0.1:5000"]
    assert resolve_registry(None, store) == "127.0.0.1:5000"
    store.store("https://other:443/", Credentials("bob", "pw"))
    with pytest.raises(
        InvalidArgument, match=r"several logged in to \(127.0.0.1:5000, other:443\)"
    ):
        resolve_registry(None, store)
    assert resolve_registry("http://x:1", store) == "http://x:1"


def test_bad_registry_addresses_are_refused() -> None:
    for bad in ("ftp://host", "http://host/some/path", "host/path", "  "):
        with pytest.raises(InvalidArgument):
            connect(bad)


# --- against a real registry process ----------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """dockyard's registry with htpasswd auth for alice, holding team/app0 … team/app4."""
    root = tmp_path_factory.mktemp("harbor-client")
    htpasswd = root / "htpasswd"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    htpasswd.write_text(f"{USER}:{hashed}\n")
    env = {
        "REGISTRY_AUTH": "htpasswd",
        "REGISTRY_AUTH_HTPASSWD_REALM": "test",
        "REGISTRY_AUTH_HTPASSWD_PATH": str(htpasswd),
    }
    with start_registry(root / "data", env=env) as server:
        with httpx.Client(base_url=server.url, auth=(USER, PASSWORD)) as client:
            for i in range(5):
                push_image(client, f"team/app{i}", seed=str(i))
        yield server


def _options(tmp_path: Path, creds: Credentials | None) -> ClientOptions:
    store = CredentialStore(tmp_path / "docker")
    if creds is not None:
        store.store("127.0.0.1", creds)  # another host: never used
    options = ClientOptions(credentials=store)
    return options


def _logged_in(tmp_path: Path, host: str, password: str = PASSWORD) -> ClientOptions:
    store = CredentialStore(tmp_path / "docker")
    store.store(host, Credentials(USER, password))
    return ClientOptions(credentials=store)


def test_pages_follow_links_to_the_end(served: RegistryProcess, tmp_path: Path) -> None:
    api = connect(served.host, _logged_in(tmp_path, served.host))
    assert api.base == served.url  # no scheme given: HTTPS failed, plain HTTP for 127.0.0.1
    items = list(api.pages("/projects/team/repositories", what="list", page_size=2))
    assert sorted(i["name"] for i in items) == [f"team/app{i}" for i in range(5)]
    first = list(api.pages("/repositories", what="list", page_size=2, limit=3))
    assert len(first) == 3
    one = list(api.pages("/repositories", what="list", query={"q": "name=team/app3"}))
    assert [i["name"] for i in one] == ["team/app3"]


def test_server_errors_carry_the_servers_message(served: RegistryProcess, tmp_path: Path) -> None:
    api = connect(served.url, _logged_in(tmp_path, served.host))
    with pytest.raises(NotFound) as missing:
        api.request("GET", "/projects/team/repositories/nope", what="inspect team/nope")
    assert str(missing.value).startswith("inspect team/nope: ")
    assert "nope" in missing.value.message.split(": ", 1)[1]
    with pytest.raises(InvalidArgument, match="page_size"):
        api.request("GET", "/repositories", what="list", query={"page_size": 1000})


def test_credentials_come_from_the_login_store(served: RegistryProcess, tmp_path: Path) -> None:
    """Basic credentials of the API's host from the store: anonymous sees no repository,
    alice sees them, a wrong password is refused with the login hint."""
    anonymous = connect(served.url, _options(tmp_path / "a", Credentials(USER, PASSWORD)))
    assert list(anonymous.pages("/repositories", what="list repositories")) == []
    alice = connect(served.url, _logged_in(tmp_path / "b", served.host))
    assert len(list(alice.pages("/repositories", what="list repositories"))) == 5
    wrong = connect(served.url, _logged_in(tmp_path / "c", served.host, "Wrong1234"))
    with pytest.raises(Unauthorized, match=f"dockyard login {served.host}"):
        list(wrong.pages("/repositories", what="list repositories"))


def test_an_unreachable_registry_is_unavailable(tmp_path: Path) -> None:
    from _infra.registry_server import free_port

    options = ClientOptions(credentials=CredentialStore(tmp_path / "docker"), retries=1)
    with pytest.raises(Unavailable, match="cannot connect"):
        connect(f"http://127.0.0.1:{free_port()}", options)
