"""Refused ``/api/v2.0`` calls in the audit log, and the log with each outcome through Harbor's
``/auditlog-exts`` (``AuditLogExt``: ``operation_result``), over the registry app in ``auth:
projects`` mode (in process): the API's refusals reach the log through the same batched
writer as ``/v2/``'s, and every answer validates against Harbor's definitions."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from _infra.harbor_api import check_error, check_list, validate
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    audit_entries,
    basic,
    projects_config,
    team_with_people,
    wait_for,
)
from _infra.registry_server import ASGIClient
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService, AuditEntry

API = "/api/v2.0"


@dataclass
class Served:
    app: RegistryApp
    client: ASGIClient
    access: AccessService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    config = projects_config(tmp_path_factory.mktemp("audit-ext") / "data")
    app = build_app(config, access_log=False)
    access = open_access(config.access, app.registry.meta.db)  # type: ignore[arg-type]
    team_with_people(access)
    access.users.create("outsider", PASSWORD)
    with ASGIClient(app) as client:
        yield Served(app, client, access)
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def _refused(access: AccessService, user: str, count: int) -> list[AuditEntry]:
    def found() -> list[AuditEntry] | None:
        entries = [
            e
            for e in audit_entries(access, username=user)
            if not e.ok and e.resource.startswith("/")
        ]
        return entries if len(entries) >= count else None

    return wait_for(found)


def test_refused_api_calls_are_in_the_audit_log(served: Served) -> None:
    client = served.client
    guest, dev = basic("guest", PASSWORD), basic("dev", PASSWORD)
    member = {"role_id": 2, "member_user": {"username": "outsider"}}
    check_error(client.post(f"{API}/projects/team/members", json=member, headers=guest), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(client.delete(f"{API}/projects/team", headers=dev), 403, "FORBIDDEN")
    check_error(client.get(f"{API}/projects/team/logs", headers=basic("outsider", PASSWORD)),
                403, "FORBIDDEN")  # fmt: skip
    # credentials that do not authenticate: the name they claimed, and the route's resource
    check_error(client.get(f"{API}/projects/team/members", headers=basic("dev", "Wrong1234")),
                401, "UNAUTHORIZED")  # fmt: skip
    # no credentials at all: the Basic challenge, not an attempt of anyone's
    check_error(client.get(f"{API}/projects/team/members"), 401, "UNAUTHORIZED")

    refused = {
        (e.operation, e.resource_type, e.resource, e.project, e.client_ip)
        for user, count in (("guest", 1), ("dev", 2), ("outsider", 1))
        for e in _refused(served.access, user, count)
    }
    assert refused >= {  # (the module's other tests add refusals of their own)
        ("create", "member", "/projects/team/members", "team", "127.0.0.1"),
        ("delete", "project", "/projects/team", "team", "127.0.0.1"),
        ("list", "log", "/projects/team/logs", "team", "127.0.0.1"),
        ("read", "member", "/projects/team/members", "team", "127.0.0.1"),
    }
    assert not [e for e in audit_entries(served.access, username="anonymous") if not e.ok]
    # the project's admin sees them in the project's log, with their outcome
    r = client.get(f"{API}/projects/team/auditlog-exts", params={"q": "op_result=false"},
                   headers=basic("admin", ADMIN_PASSWORD))  # fmt: skip
    shown = check_list(r, "AuditLogExt")
    assert {(e["operation"], e["resource_type"], e["username"]) for e in shown} >= {
        ("create", "member", "guest"), ("delete", "project", "dev"), ("read", "member", "dev"),
    }  # fmt: skip
    assert all(e["operation_result"] is False for e in shown)


def test_auditlog_exts_show_each_outcome_with_harbors_filters(served: Served) -> None:
    client, admin = served.client, basic("admin", ADMIN_PASSWORD)
    r = client.get(f"{API}/projects", headers=basic("guest", "Nope12345"))
    check_error(r, 401, "UNAUTHORIZED")

    def written() -> bool:  # the failed login (at once) and the refusal (batched)
        found = audit_entries(served.access, username="guest")
        failed = {(e.operation, e.resource) for e in found if not e.ok}
        return {("login", "guest"), ("read", "/projects")} <= failed

    wait_for(written)
    r = client.get(f"{API}/auditlog-exts", params={"page_size": "100"}, headers=admin)
    everything = check_list(r, "AuditLogExt")
    assert int(r.headers["x-total-count"]) == served.access.audit.query().total
    results = {e["operation_result"] for e in everything}
    assert results == {True, False}
    (wrong,) = [e for e in everything if e["operation"] == "login" and e["username"] == "guest"
                and not e["operation_result"]]  # fmt: skip
    assert wrong["operation_description"] == "wrong password"
    assert wrong["resource_type"] == "user" and wrong["resource"] == "guest"
    only_failed = check_list(
        client.get(f"{API}/auditlog-exts", params={"q": "op_result=false", "page_size": "100"},
                   headers=admin),
        "AuditLogExt",
    )  # fmt: skip
    assert only_failed and all(not e["operation_result"] for e in only_failed)
    assert len(only_failed) == sum(not e["operation_result"] for e in everything)
    logins = check_list(
        client.get(f"{API}/auditlog-exts", params={"q": "operation=login,username=guest,"
                                                         "op_result=false"}, headers=admin),
        "AuditLogExt",
    )  # fmt: skip
    assert [e["id"] for e in logins] == [wrong["id"]]
    # the same entries as /audit-logs: one table
    guest = {"q": "username=guest", "page_size": "100"}
    old = check_list(client.get(f"{API}/audit-logs", params=guest, headers=admin), "AuditLog")
    ext = check_list(client.get(f"{API}/auditlog-exts", params=guest, headers=admin),
                     "AuditLogExt")  # fmt: skip
    # (read second, ext may hold entries the writer added in between: never fewer)
    ext_times = {e["id"]: e["op_time"] for e in ext}
    assert old and all(ext_times[e["id"]] == e["op_time"] for e in old)
    # who may read: a non-admin sees only the logs of projects whose log it may list
    dev_view = check_list(client.get(f"{API}/auditlog-exts", headers=basic("dev", PASSWORD)),
                          "AuditLogExt")  # fmt: skip
    assert dev_view == []
    check_error(client.get(f"{API}/auditlog-exts"), 401, "UNAUTHORIZED")
    check_error(client.get(f"{API}/projects/team/auditlog-exts", headers=basic("dev", PASSWORD)),
                403, "FORBIDDEN")  # fmt: skip
    for params in ({"q": "op_result=maybe"}, {"q": "op_result=~t"}, {"q": "client_ip=x"}):
        check_error(client.get(f"{API}/auditlog-exts", params=params, headers=admin), 400,
                    "BAD_REQUEST")  # fmt: skip


def test_event_types_for_system_administrators_only(served: Served) -> None:
    client = served.client
    r = client.get(f"{API}/auditlog-exts/events", headers=basic("admin", ADMIN_PASSWORD))
    assert r.status_code == 200, r.text
    validate(r.json(), {"type": "array", "items": {"$ref": "#/definitions/AuditLogEventType"}})
    names = {e["event_type"] for e in r.json()}
    assert {"create_artifact", "pull_artifact", "login_user", "create_project"} <= names
    # every kind of entry the log holds so far is one of them
    held = {f"{e.operation}_{e.resource_type}" for e in served.access.audit.query(
        page_size=100).items if e.ok}  # fmt: skip
    assert held <= names, held - names
    check_error(client.get(f"{API}/auditlog-exts/events", headers=basic("dev", PASSWORD)), 403,
                "FORBIDDEN")  # fmt: skip
    check_error(client.get(f"{API}/auditlog-exts/events"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"page_size": "101"}, "page_size in query should be less than or equal to 100"),
        ({"page_size": "0"}, "page_size in query should be greater than or equal to 1"),
        ({"page": "0"}, "page in query should be greater than or equal to 1"),
        ({"page": "-1"}, "page in query should be greater than or equal to 1"),
        ({"page": "ten"}, 'page in query must be of type int64: "ten"'),
        ({"page": str(2**63)}, f'page in query must be of type int64: "{2**63}"'),
        ({"page": "x", "page_size": "500"}, 'page in query must be of type int64: "x"\n'
                                            "page_size in query should be less than or equal to 100"),
    ],
)  # fmt: skip
def test_paging_out_of_range_is_harbors_422(
    served: Served, params: dict[str, str], message: str
) -> None:
    """go-swagger's validation of Harbor's ``page``/``page_size`` (``maximum: 100``): 422
    UNPROCESSABLE_ENTITY, ``validation failure list:`` and one line per parameter."""
    admin = basic("admin", ADMIN_PASSWORD)
    for path in ("/projects", "/auditlog-exts", "/audit-logs", "/projects/team/members",
                 "/projects/team/repositories", "/users", "/robots", "/quotas"):  # fmt: skip
        r = served.client.get(f"{API}{path}", params=params, headers=admin)
        got = check_error(r, 422, "UNPROCESSABLE_ENTITY")
        assert got == "validation failure list:\n" + message, (path, got)
        assert r.headers["content-type"] == "application/json; charset=utf-8"
    # checked before who is asking, as go-swagger binds parameters first
    r = served.client.get(f"{API}/projects", params=params)
    assert r.status_code == 422
    ok = served.client.get(f"{API}/projects", params={"page": "1", "page_size": "100"},
                           headers=admin)  # fmt: skip
    assert ok.status_code == 200


def test_an_api_refusal_from_a_client_on_another_address_names_that_address(
    served: Served,
) -> None:
    """The address is the connection's, as for /v2/ (httpx over ASGI sets it)."""
    transport = httpx.ASGITransport(app=served.app, client=("10.1.2.3", 4321))

    async def put() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://registry") as other:
            return await other.put(f"{API}/projects/team", json={"metadata": {"public": "true"}},
                                   headers=basic("guest", PASSWORD))  # fmt: skip

    check_error(served.client.loop.run_until_complete(put()), 403, "FORBIDDEN")

    def found() -> list[AuditEntry] | None:
        return [e for e in audit_entries(served.access, username="guest")
                if e.client_ip == "10.1.2.3" and not e.ok] or None  # fmt: skip

    (entry,) = wait_for(found)
    assert (entry.operation, entry.resource_type, entry.project, entry.ok) == (
        "update", "project", "team", False
    )  # fmt: skip
