"""The console's replication page, in-process, with one real distribution 2.8.2 registry
as the destination: an endpoint added with its connection tested (the secret never on a
page), a policy made with filters, "Replicate now" copying the selected tag there and the
execution's tasks and log shown; a policy disabled, enabled and deleted; a registry
deleted. Only system administrators get anything, from the pages and from the API alike;
every form needs the CSRF token; names and logs are text, never markup."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import (
    close_app,
    projects_app,
    push_with_history,
    signed_in,
    table_rows,
)
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient
from _infra.replication import Destination
from dockyard.registry import RegistryApp

SCRIPT = "<script>alert(1)</script>"
API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)
BASE = "/admin/replication"


@dataclass
class Served:
    app: RegistryApp
    destination: Destination


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-replication")
    app, access = projects_app(root / "data")
    team_with_people(access)
    destination = Destination(root / "destination").start()
    try:
        with ASGIClient(app) as client:
            dev = AuthedClient(client, basic("dev", PASSWORD))
            for tag in ("v1", "dev-1"):
                push_with_history(dev, "team/app", tag)
        yield Served(app, destination)
    finally:
        destination.stop()
        close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def _signed_in(client: ASGIClient, user: str, password: str = PASSWORD) -> str:
    return signed_in(client, user, password)


def _add_registry(client: ASGIClient, token: str, name: str, url: str, password: str) -> str:
    """Add an endpoint through the page; the page that answers (its connection tested)."""
    form = {"csrf": token, "name": name, "type": "docker-registry", "url": url,
            "access_key": "mirror", "access_secret": password}  # fmt: skip
    r = client.post(f"{BASE}/registries", data=form)
    assert r.status_code == 200, r.text
    return r.text


def _registry_id(client: ASGIClient, name: str) -> int:
    r = client.get(f"{API}/registries", params={"name": name}, headers=ADMIN)
    return int(next(x["id"] for x in r.json() if x["name"] == name))


def _policy_id(client: ASGIClient, name: str) -> int:
    r = client.get(f"{API}/replication/policies", headers=ADMIN)
    return int(next(x["id"] for x in r.json() if x["name"] == name))


def _ended(client: ASGIClient, location: str) -> str:
    """The execution's page once it has ended (the tasks run in the background)."""
    deadline = time.monotonic() + 20
    while True:
        page = client.get(location)
        assert page.status_code == 200, page.text
        status = re.search(r'id="exec-status">([^<]*)<', page.text)
        assert status is not None
        if status.group(1) != "InProgress" or time.monotonic() > deadline:
            return page.text
        time.sleep(0.1)


def _policy_form(token: str, registry: int, name: str, **extra: str) -> dict[str, str]:
    return {"csrf": token, "name": name, "registry": str(registry), "direction": "push",
            "name_filter": "team/**", "tag_filter": "v*", "tag_decoration": "matches",
            "label_filter": "", "label_decoration": "matches", "resource": "artifact",
            "trigger": "manual", "cron": "", "dest_namespace": "mirror",
            "dest_namespace_replace_count": "1", "speed": "-1", "override": "1",
            "enabled": "1", **extra}  # fmt: skip


def test_replicate_now_copies_to_the_destination(client: ASGIClient, served: Served) -> None:
    dest = served.destination
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    page = client.get(BASE)
    assert page.status_code == 200 and f'href="{BASE}"' in page.text  # linked in the header
    assert table_rows(page.text, "Endpoint registries") == [["none"]]
    assert "Add a registry to make a policy" in page.text

    # a wrong password: the registry is added, and the test says the connection failed
    text = _add_registry(client, token, "wrong", dest.url, "not-the-password")
    assert re.search(r'id="connection" class="error">Connection to wrong failed: ', text)
    # the right one: it answers; the secret is never on a page nor in the API's answer
    text = _add_registry(client, token, "dr", dest.url, dest.password)
    assert "Connection to dr succeeded" in text
    assert dest.password not in text and "not-the-password" not in text
    rows = table_rows(text, "Endpoint registries")
    assert [r[:4] for r in rows] == [
        ["wrong", "docker-registry", dest.url, "mirror"],
        ["dr", "docker-registry", dest.url, "mirror"],
    ]
    assert 'name="access_secret" type="password" autocomplete="new-password">' in text
    wrong, dr = _registry_id(client, "wrong"), _registry_id(client, "dr")
    r = client.post(f"{BASE}/registries/{dr}/ping", data={"csrf": token})
    assert r.status_code == 200 and "Connection to dr succeeded" in r.text
    assert dest.password not in client.get(f"{API}/registries/{dr}", headers=ADMIN).text

    # a policy with a bad cron is refused with the API's words
    bad = _policy_form(token, dr, "ship", trigger="scheduled", cron="daily")
    r = client.post(f"{BASE}/policies", data=bad)
    assert r.status_code == 400 and "6-field cron" in r.text
    r = client.post(f"{BASE}/policies", data=_policy_form(token, dr, "ship",
                                                           replicate_deletion="1",
                                                           trigger="event_based"))  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == BASE
    (row,) = table_rows(client.get(BASE).text, "Replication policies")
    assert row[:7] == ["ship", "push to dr", "name team/**; tag v*", "on push (event based)",
                       "mirror", "yes", "enabled"]  # fmt: skip
    policy = _policy_id(client, "ship")
    got = client.get(f"{API}/replication/policies/{policy}", headers=ADMIN).json()
    assert got["filters"] == [
        {"type": "name", "value": "team/**", "decoration": "matches"},
        {"type": "tag", "value": "v*", "decoration": "matches"},
    ]
    assert got["dest_registry"]["id"] == dr and got["replicate_deletion"] is True

    # disable and enable go through the API's update, everything else kept
    r = client.post(f"{BASE}/policies/{policy}/disable", data={"csrf": token})
    assert r.status_code == 303
    assert table_rows(client.get(BASE).text, "Replication policies")[0][6] == "disabled"
    r = client.post(f"{BASE}/policies/{policy}/enable", data={"csrf": token})
    assert r.status_code == 303
    after = client.get(f"{API}/replication/policies/{policy}", headers=ADMIN).json()
    assert after["enabled"] is True and after["filters"] == got["filters"]
    assert after["trigger"]["type"] == "event_based"

    # replicate now: v1 (not dev-1) lands at mirror/app, the task and its log on the page
    r = client.post(f"{BASE}/policies/{policy}/run", data={"csrf": token})
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(rf"{BASE}/executions/\d+", location)
    result = _ended(client, location)
    assert 'id="exec-status">Succeed<' in result, result
    (task,) = table_rows(result, "Tasks")
    assert task[1:5] == ["copy", "team/app:v1", "mirror/app:v1", "Succeed"]
    log = re.search(r'<pre id="task-log-\d+" tabindex="0">([^<]+)</pre>', result)
    assert log is not None and "mirror/app" in log.group(1)
    assert dest.tags("mirror/app") == ["v1"]
    executions = table_rows(client.get(BASE).text, "Executions")
    assert executions[0][1:4] == ["ship", "manual", "Succeed"]

    # a registry a policy uses cannot go; once the policy is deleted it can
    r = client.post(f"{BASE}/registries/{dr}/delete", data={"csrf": token})
    assert r.status_code == 412 and "ship" in r.text
    r = client.post(f"{BASE}/policies/{policy}/delete", data={"csrf": token})
    assert r.status_code == 303
    assert table_rows(client.get(BASE).text, "Replication policies") == [["none"]]
    for registry in (dr, wrong):
        r = client.post(f"{BASE}/registries/{registry}/delete", data={"csrf": token})
        assert r.status_code == 303
    assert table_rows(client.get(BASE).text, "Endpoint registries") == [["none"]]


def test_only_system_administrators(served: Served) -> None:
    with ASGIClient(served.app) as dev:
        token = _signed_in(dev, "dev")
        assert f'href="{BASE}"' not in dev.get("/").text
        r = dev.get(BASE)
        assert r.status_code == 403 and "Endpoint registries" not in r.text
        assert dev.get(f"{BASE}/executions/1").status_code == 403
        form = {"csrf": token, "name": "x", "url": "http://127.0.0.1:9", "access_key": "a",
                "access_secret": "b"}  # fmt: skip
        assert dev.post(f"{BASE}/registries", data=form).status_code == 403
        assert dev.post(f"{BASE}/policies/1/run", data={"csrf": token}).status_code == 403
        # the API refuses them too
        h = basic("dev", PASSWORD)
        for path in ("/registries", "/replication/policies", "/replication/executions"):
            assert dev.get(API + path, headers=h).status_code == 403
    with ASGIClient(served.app) as admin:
        assert admin.get(f"{API}/registries", headers=ADMIN).status_code == 200


def test_names_and_logs_are_text(client: ASGIClient, served: Served) -> None:
    dest = served.destination
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    text = _add_registry(client, token, SCRIPT, dest.url, dest.password)
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    registry = _registry_id(client, SCRIPT)
    # a destination namespace the destination refuses: its error is in the task's log
    form = _policy_form(token, registry, SCRIPT, dest_namespace=SCRIPT)
    assert client.post(f"{BASE}/policies", data=form).status_code == 303
    page = client.get(BASE).text
    assert SCRIPT not in page and page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3
    policy = _policy_id(client, SCRIPT)
    r = client.post(f"{BASE}/policies/{policy}/run", data={"csrf": token})
    result = _ended(client, r.headers["location"])
    assert "&lt;script&gt;" in result and "<script>alert" not in result
    log = re.search(r'<pre id="task-log-\d+" tabindex="0">([^<]+)</pre>', result)
    assert log is not None and "&lt;script&gt;" in log.group(1), result
    client.post(f"{BASE}/policies/{policy}/delete", data={"csrf": token})
    client.post(f"{BASE}/registries/{registry}/delete", data={"csrf": token})


def test_every_replication_form_needs_the_csrf_token(client: ASGIClient) -> None:
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    before = client.get(BASE).text
    forms = {
        f"{BASE}/registries": {"name": "r", "url": "http://127.0.0.1:9"},
        f"{BASE}/registries/1/ping": {},
        f"{BASE}/registries/1/delete": {},
        f"{BASE}/policies": {"name": "p", "registry": "1"},
        f"{BASE}/policies/1/run": {},
        f"{BASE}/policies/1/disable": {},
        f"{BASE}/policies/1/enable": {},
        f"{BASE}/policies/1/delete": {},
        f"{BASE}/executions/1/stop": {},
    }
    for path, form in forms.items():
        for csrf in (None, "", token[:-2] + "xx"):
            data = dict(form) if csrf is None else {**form, "csrf": csrf}
            r = client.post(path, data=data)
            assert r.status_code == 403, (path, csrf, r.status_code)
            assert "security token" in r.text
    assert client.get(BASE).text == before
