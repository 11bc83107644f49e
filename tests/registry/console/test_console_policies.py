"""The console's policies and garbage collection pages, in-process: retention rules added and
edited, a dry run's result table (nothing deleted), a real run (the artifact gone), the
schedule; immutability rules added, disabled, enabled, deleted; a webhook added, fired by a
push, its delivery log with each attempt; garbage collection run by an administrator with
its history and log. Who may see and change what follows the API's permissions; every form
needs the CSRF token; names and patterns are text, never markup."""

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
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry import RegistryApp
from dockyard.registry.access import AccessService, Role

SCRIPT = "<script>alert(1)</script>"
API = "/api/v2.0"
ADMIN = basic("admin", ADMIN_PASSWORD)


@dataclass
class Served:
    app: RegistryApp
    access: AccessService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-policies") / "data"
    app, access = projects_app(root)
    admin = team_with_people(access)
    access.users.create("keeper", PASSWORD)
    access.add_member(admin, "team", role_id=int(Role.MAINTAINER), username="keeper")
    access.users.create("stranger", PASSWORD)
    with ASGIClient(app) as client:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        for tag in ("v1", "v2", "v3"):
            push_with_history(dev, "team/app", tag)
    yield Served(app, access)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def _signed_in(client: ASGIClient, user: str, password: str = PASSWORD) -> str:
    return signed_in(client, user, password)


def _tags(client: ASGIClient) -> set[str]:
    r = client.get(f"{API}/projects/team/repositories/app/artifacts", headers=ADMIN)
    assert r.status_code == 200, r.text
    return {t["name"] for a in r.json() for t in a.get("tags") or ()}


def _finished(client: ASGIClient, location: str) -> str:
    """The run page once its run has ended (the run goes on in a background thread)."""
    deadline = time.monotonic() + 20
    while True:
        page = client.get(location)
        assert page.status_code == 200, page.text
        status = re.search(r'id="run-status">([^<]*)<', page.text)
        assert status is not None
        if status.group(1) not in ("Pending", "Running") or time.monotonic() > deadline:
            return page.text
        time.sleep(0.05)


@pytest.mark.slow
def test_retention_rules_dry_run_run_and_schedule(client: ASGIClient, served: Served) -> None:
    token = _signed_in(client, "keeper")
    assert "/projects/team/policies" in client.get("/projects/team").text
    page = client.get("/projects/team/policies")
    assert page.status_code == 200 and "Add a retention rule" in page.text
    assert table_rows(page.text, "Retention rules") == [["none"]]
    assert "Dry run" not in page.text  # nothing to run before the first rule

    rule = {"csrf": token, "template": "latestPushedK", "value": "1", "repo_decoration":
            "repoMatches", "repo_pattern": "**", "tag_decoration": "matches",
            "tag_pattern": "v*"}  # fmt: skip
    r = client.post("/projects/team/retention/rules", data=rule)
    assert r.status_code == 303 and r.headers["location"] == "/projects/team/policies"
    rows = table_rows(client.get("/projects/team/policies").text, "Retention rules")
    assert rows[0][1:4] == ["the most recently pushed 1 artifacts", "matching **", "matching v*"]
    # edit it: the form comes back filled in, and saving replaces the rule
    edit = client.get("/projects/team/policies?edit=0").text
    assert (
        'name="index" value="0"' in edit
        and 'id="rule-value" name="value" inputmode="numeric" value="1"' in edit
    )
    r = client.post("/projects/team/retention/rules", data={**rule, "index": "0", "value": "2"})
    assert r.status_code == 303
    rows = table_rows(client.get("/projects/team/policies").text, "Retention rules")
    assert len(rows) == 1 and rows[0][1] == "the most recently pushed 2 artifacts"
    r = client.post("/projects/team/retention/rules", data={**rule, "value": "many"})
    assert r.status_code == 400 and "needs a number of count" in r.text

    # a dry run: its table says what would go, and nothing goes
    r = client.post("/projects/team/retention/dry-run", data={"csrf": token})
    assert r.status_code == 303
    location = r.headers["location"]
    assert re.fullmatch(r"/projects/team/retention/runs/\d+", location)
    result = _finished(client, location)
    assert 'id="run-status">Success<' in result and "A dry run: nothing was deleted" in result
    rows = table_rows(result, "team/app: Success, 2 of 3 retained")
    assert sorted(row[6] for row in rows) == ["DEL", "RETAIN", "RETAIN"], rows
    assert _tags(client) == {"v1", "v2", "v3"}
    runs = table_rows(client.get("/projects/team/policies").text, "Retention runs")
    assert runs[0][1:4] == ["dry run", "MANUAL", "Success"]

    # the schedule: a bad cron is refused with the API's words, a good one shown
    r = client.post("/projects/team/retention/schedule", data={"csrf": token, "cron": "daily"})
    assert r.status_code == 400 and "6-field cron" in r.text
    r = client.post(
        "/projects/team/retention/schedule", data={"csrf": token, "cron": "0 0 3 * * *"}
    )
    assert r.status_code == 303
    assert (
        '<code id="retention-cron">0 0 3 * * *</code>' in client.get("/projects/team/policies").text
    )

    # run now: the artifact the dry run named is deleted
    deleted = next(row[1] for row in rows if row[6] == "DEL")
    r = client.post("/projects/team/retention/run", data={"csrf": token})
    result = _finished(client, r.headers["location"])
    assert "A dry run" not in result
    assert _tags(client) == {"v1", "v2", "v3"} - {deleted}

    # without the token nothing changes; a guest sees no retention at all
    r = client.post("/projects/team/retention/rules/0/delete", data={})
    assert r.status_code == 403
    assert len(table_rows(client.get("/projects/team/policies").text, "Retention rules")) == 1
    r = client.post("/projects/team/retention/rules/0/delete", data={"csrf": token})
    assert r.status_code == 303
    assert table_rows(client.get("/projects/team/policies").text, "Retention rules") == [["none"]]
    with ASGIClient(served.app) as guest:
        guest_token = _signed_in(guest, "guest")
        page = guest.get("/projects/team/policies")
        assert page.status_code == 200 and "Retention rules" not in page.text
        assert "Immutability rules" not in page.text and "Webhooks" not in page.text
        r = guest.post("/projects/team/retention/rules", data={**rule, "csrf": guest_token})
        assert r.status_code == 403 and "may not" in r.text
        assert guest.get(location).status_code == 403


def test_immutability_rules_added_switched_and_deleted(client: ASGIClient, served: Served) -> None:
    token = _signed_in(client, "keeper")
    form = {"csrf": token, "repo_decoration": "repoMatches", "repo_pattern": "**",
            "tag_decoration": "matches", "tag_pattern": SCRIPT}  # fmt: skip
    r = client.post("/projects/team/immutable", data=form)
    assert r.status_code == 303
    page = client.get("/projects/team/policies").text
    assert SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    r = client.post("/projects/team/immutable", data={**form, "tag_pattern": "v2"})
    assert r.status_code == 303
    rows = table_rows(client.get("/projects/team/policies").text, "Immutability rules")
    rule_id = next(row[0] for row in rows if row[2] == "matching v2")
    # the rule holds: v2 cannot be deleted through the API
    r = client.delete(f"{API}/projects/team/repositories/app/artifacts/v2/tags/v2", headers=ADMIN)
    assert r.status_code in (409, 412), r.text
    r = client.post(f"/projects/team/immutable/{rule_id}/disable", data={"csrf": token})
    assert r.status_code == 303
    rules = client.get(f"{API}/projects/team/immutabletagrules", headers=ADMIN).json()
    assert next(x for x in rules if str(x["id"]) == rule_id)["disabled"] is True
    r = client.post(f"/projects/team/immutable/{rule_id}/enable", data={"csrf": token})
    assert r.status_code == 303
    rules = client.get(f"{API}/projects/team/immutabletagrules", headers=ADMIN).json()
    assert next(x for x in rules if str(x["id"]) == rule_id)["disabled"] is False
    assert client.post(f"/projects/team/immutable/{rule_id}/delete", data={}).status_code == 403
    r = client.post(f"/projects/team/immutable/{rule_id}/delete", data={"csrf": token})
    assert r.status_code == 303
    rules = client.get(f"{API}/projects/team/immutabletagrules", headers=ADMIN).json()
    assert rule_id not in {str(x["id"]) for x in rules}
    with ASGIClient(served.app) as dev:  # a developer may not change immutability rules
        dev_token = _signed_in(dev, "dev")
        assert "Add an immutability rule" not in dev.get("/projects/team/policies").text
        r = dev.post("/projects/team/immutable", data={**form, "csrf": dev_token})
        assert r.status_code == 403


@pytest.mark.slow
def test_a_webhook_fired_by_a_push_shows_each_attempt(client: ASGIClient, served: Served) -> None:
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    with WebhookReceiver() as receiver:
        receiver.statuses.append(500)  # the first attempt fails, the second succeeds
        form = {"csrf": token, "webhook_name": SCRIPT, "address": f"{receiver.url}/hook",
                "description": "", "event_PUSH_ARTIFACT": "1"}  # fmt: skip
        r = client.post("/projects/team/webhooks", data={**form, "event_PUSH_ARTIFACT": ""})
        assert r.status_code == 400 and "at least one event type" in r.text
        r = client.post("/projects/team/webhooks", data=form)
        assert r.status_code == 303
        page = client.get("/projects/team/policies").text
        assert SCRIPT not in page
        rows = table_rows(page, "Webhooks")
        assert rows[0][1:4] == [f"{receiver.url}/hook", "PUSH_ARTIFACT", "enabled"]
        hook = re.search(r'href="/projects/team/webhooks/(\d+)"', page)
        assert hook is not None
        hook_id = hook.group(1)
        push_with_history(AuthedClient(client, basic("dev", PASSWORD)), "team/app", "hooked")
        receiver.wait_for(1)
        deadline = time.monotonic() + 10
        while True:  # the worker records the attempt after the receiver answered
            log = client.get(f"/projects/team/webhooks/{hook_id}")
            deliveries = table_rows(log.text, "Deliveries")
            if (deliveries and deliveries[0][3] == "Success") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert log.status_code == 200
        assert deliveries[0][1:5] == ["PUSH_ARTIFACT", f"{receiver.url}/hook", "Success", "2"]
        attempts = re.findall(r"<li>(.*?)</li>", log.text)
        assert len(attempts) == 2 and "500" in attempts[0], attempts

    r = client.post(f"/projects/team/webhooks/{hook_id}/disable", data={"csrf": token})
    assert r.status_code == 303
    assert table_rows(client.get("/projects/team/policies").text, "Webhooks")[0][3] == "disabled"
    with ASGIClient(served.app) as keeper:  # a maintainer reads webhooks, changes none
        keeper_token = _signed_in(keeper, "keeper")
        page = keeper.get("/projects/team/policies").text
        assert "Webhooks" in page and "Add a webhook" not in page
        r = keeper.post(f"/projects/team/webhooks/{hook_id}/delete", data={"csrf": keeper_token})
        assert r.status_code == 403
        r = keeper.post("/projects/team/webhooks", data={**form, "csrf": keeper_token})
        assert r.status_code == 403
    with ASGIClient(served.app) as dev:  # a developer may not even read them
        dev_token = _signed_in(dev, "dev")
        r = dev.post("/projects/team/webhooks", data={**form, "csrf": dev_token})
        assert r.status_code == 403 and "may not" in r.text
        assert "Webhooks" not in dev.get("/projects/team/policies").text
    with ASGIClient(served.app) as stranger:
        _signed_in(stranger, "stranger")
        r = stranger.get(f"/projects/team/webhooks/{hook_id}")
        assert r.status_code in (403, 404) and "PUSH_ARTIFACT" not in r.text
    r = client.post(f"/projects/team/webhooks/{hook_id}/delete", data={"csrf": token})
    assert r.status_code == 303
    assert table_rows(client.get("/projects/team/policies").text, "Webhooks") == [["none"]]


def test_garbage_collection_for_system_administrators(client: ASGIClient, served: Served) -> None:
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    page = client.get("/admin/gc")
    assert page.status_code == 200 and 'href="/admin/gc"' in page.text  # linked in the header
    assert "No schedule" in page.text
    r = client.post("/admin/gc/run", data={"dry_run": "1"})
    assert r.status_code == 403
    r = client.post("/admin/gc/run", data={"csrf": token, "dry_run": "1"})
    assert r.status_code == 303 and re.fullmatch(r"/admin/gc/\d+", r.headers["location"])
    location = r.headers["location"]
    deadline = time.monotonic() + 20
    while True:
        run = client.get(location).text
        status = re.search(r'id="gc-status">([^<]*)<', run)
        assert status is not None
        if status.group(1) not in ("Pending", "Running") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status.group(1) == "Success", run
    assert "dry run" in run and re.search(r'<pre id="gc-log" tabindex="0">[^<(]', run)
    history = table_rows(client.get("/admin/gc").text, "Garbage collection runs")
    assert history[0][1:4] == ["MANUAL", "dry run", "Success"]

    r = client.post("/admin/gc/schedule", data={"csrf": token, "type": "Custom", "cron": ""})
    assert r.status_code == 400 and "needs a cron" in r.text
    r = client.post("/admin/gc/schedule", data={"csrf": token, "type": "Daily"})
    assert r.status_code == 303
    assert "Daily (cron" in client.get("/admin/gc").text
    r = client.post("/admin/gc/schedule", data={"csrf": token, "type": "None"})
    assert "No schedule" in client.get("/admin/gc").text

    with ASGIClient(served.app) as dev:
        dev_token = _signed_in(dev, "dev")
        assert 'href="/admin/gc"' not in dev.get("/").text
        r = dev.get("/admin/gc")
        assert r.status_code == 403 and "Garbage collection runs" not in r.text
        assert dev.get(location).status_code == 403
        r = dev.post("/admin/gc/run", data={"csrf": dev_token})
        assert r.status_code == 403
    assert len(table_rows(client.get("/admin/gc").text, "Garbage collection runs")) == 1


def test_the_api_agrees_with_the_pages(served: Served) -> None:
    """What the pages refuse, the API refuses too (no back door either way)."""
    with ASGIClient(served.app) as client:
        h = basic("guest", PASSWORD)
        r = client.get(f"{API}/projects/team/immutabletagrules", headers=h)
        assert r.status_code == 403
        r = client.get(f"{API}/system/gc", headers=basic("dev", PASSWORD))
        assert r.status_code == 403


def test_every_policy_and_job_form_needs_the_csrf_token(client: ASGIClient, served: Served) -> None:
    token = _signed_in(client, "admin", ADMIN_PASSWORD)
    before = (client.get("/projects/team/policies").text, client.get("/admin/gc").text)
    forms = {
        "/projects/team/retention/rules": {"template": "always"},
        "/projects/team/retention/rules/0/delete": {},
        "/projects/team/retention/schedule": {"cron": "0 0 1 * * *"},
        "/projects/team/retention/dry-run": {},
        "/projects/team/retention/run": {},
        "/projects/team/immutable": {"tag_pattern": "x"},
        "/projects/team/immutable/1/disable": {},
        "/projects/team/immutable/1/delete": {},
        "/projects/team/webhooks": {"webhook_name": "w", "address": "http://127.0.0.1:9/",
                                    "event_PUSH_ARTIFACT": "1"},
        "/projects/team/webhooks/1/disable": {},
        "/projects/team/webhooks/1/delete": {},
        "/admin/gc/run": {"dry_run": "1"},
        "/admin/gc/schedule": {"type": "Daily"},
        "/admin/gc/1/stop": {},
    }  # fmt: skip
    for path, form in forms.items():
        for csrf in (None, "", token[:-2] + "xx"):
            data = dict(form) if csrf is None else {**form, "csrf": csrf}
            r = client.post(path, data=data)
            assert r.status_code == 403, (path, csrf, r.status_code)
            assert "security token" in r.text
    after = (client.get("/projects/team/policies").text, client.get("/admin/gc").text)
    assert after == before
