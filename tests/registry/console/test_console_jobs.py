"""The console's jobs page (``/admin/jobs``), in-process: a system administrator sees the
latest garbage collection, the latest retention run and each webhook's latest delivery of
every project, each linked to its log, project by project a page at a time; names are text,
never markup; on a registry that does not scan, the scan section says so; anyone else gets
neither the page nor its link nor the scan forms, and the API refuses them too."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import (
    close_app,
    csrf_of,
    projects_app,
    push_with_history,
    signed_in,
    table_rows,
)
from _infra.projects_registry import ADMIN_PASSWORD, PASSWORD, basic, team_with_people
from _infra.registry_server import ASGIClient, AuthedClient
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry import RegistryApp

SCRIPT = "<script>alert(1)</script>"
CAPTION = "Retention and webhook deliveries by project"
SCAN_FORMS = ("/admin/jobs/scan-all", "/admin/jobs/scan-all/schedule", "/admin/jobs/scan-all/stop")


@dataclass
class Served:
    app: RegistryApp
    receiver: WebhookReceiver


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-jobs") / "data"
    app, access = projects_app(root)
    admin = team_with_people(access)
    access.create_project(admin, "quiet")
    with ASGIClient(app) as client, WebhookReceiver() as receiver:
        dev = AuthedClient(client, basic("dev", PASSWORD))
        for tag in ("v1", "v2"):
            push_with_history(dev, "team/app", tag)
        yield Served(app, receiver)
    close_app(app)


def _until(what: Callable[[], str | None], seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while True:
        found = what()
        if found is not None:
            return found
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_latest_of_every_kind_of_job_with_links_to_their_logs(served: Served) -> None:
    with ASGIClient(served.app) as client:
        token = signed_in(client, "admin", ADMIN_PASSWORD)
        assert 'href="/admin/jobs"' in client.get("/").text  # in the header
        page = client.get("/admin/jobs")
        assert page.status_code == 200, page.text
        assert table_rows(page.text, CAPTION) == [
            ["quiet", "no policy", "no webhooks"],
            ["team", "no policy", "no webhooks"],
        ]
        # this registry does not scan: the API's answer says so, and there is no scan form
        assert "this registry does not scan images" in page.text
        assert 'action="/admin/jobs/scan-all"' not in page.text
        r = client.post("/admin/jobs/scan-all", data={"csrf": token})
        assert r.status_code == 412 and "does not scan" in r.text
        # a webhook (named like markup), a retention dry run, a GC dry run, then a push
        r = client.post("/projects/team/webhooks", data={
            "csrf": token, "webhook_name": SCRIPT, "address": f"{served.receiver.url}/hook",
            "description": "", "event_PUSH_ARTIFACT": "1"})  # fmt: skip
        assert r.status_code == 303
        rule = {"csrf": token, "template": "latestPushedK", "value": "1", "repo_decoration":
                "repoMatches", "repo_pattern": "**", "tag_decoration": "matches",
                "tag_pattern": "v*"}  # fmt: skip
        assert client.post("/projects/team/retention/rules", data=rule).status_code == 303
        r = client.post("/projects/team/retention/dry-run", data={"csrf": token})
        assert r.status_code == 303
        run_page = r.headers["location"]
        r = client.post("/admin/gc/run", data={"csrf": token, "dry_run": "1"})
        assert r.status_code == 303
        gc_page = r.headers["location"]
        push_with_history(AuthedClient(client, basic("dev", PASSWORD)), "team/app", "v3")
        served.receiver.wait_for(1)

        def settled() -> str | None:
            text = client.get("/admin/jobs").text
            rows = table_rows(text, CAPTION)
            gc = table_rows(text, re.search(r"<caption>(Garbage collection[^<]*)</caption>",
                                            text).group(1))  # type: ignore[union-attr]  # fmt: skip
            done = "Success" in rows[1][1] and "Success" in rows[1][2] and gc[0][1] == "Success"
            return text if done else None

        text = _until(settled)
        rows = table_rows(text, CAPTION)
        assert rows[0] == ["quiet", "no policy", "no webhooks"]
        run_id = run_page.rsplit("/", 1)[1]
        assert rows[1][1].startswith(f"run {run_id} (dry run): Success"), rows
        assert "Success" in rows[1][2] and "&lt;script&gt;" in rows[1][2], rows
        assert SCRIPT not in text
        # each links to the page with its log
        assert f'href="{run_page}"' in text and f'href="{gc_page}"' in text
        hook = re.search(r'href="(/projects/team/webhooks/\d+)"', text)
        assert hook is not None and "Deliveries" in client.get(hook.group(1)).text
        assert "Replication executions (latest 0 of 0)" in text
        # a page of projects at a time
        first = client.get("/admin/jobs?page_size=1").text
        assert [r[0] for r in table_rows(first, CAPTION)] == ["quiet"]
        assert "Page 1 of 2" in first
        second = client.get("/admin/jobs?page=2&page_size=1").text
        assert [r[0] for r in table_rows(second, CAPTION)] == ["team"]


def test_the_scan_forms_need_the_csrf_token(served: Served) -> None:
    with ASGIClient(served.app) as client:
        signed_in(client, "admin", ADMIN_PASSWORD)
        for form in SCAN_FORMS:
            r = client.post(form, data={"type": "Daily"})
            assert r.status_code == 403 and "security token" in r.text, form


def test_only_system_administrators(served: Served) -> None:
    for user in ("dev", "guest"):  # a developer and a guest of team
        with ASGIClient(served.app) as client:
            signed_in(client, user, PASSWORD)
            assert 'href="/admin/jobs"' not in client.get("/").text
            r = client.get("/admin/jobs")
            assert r.status_code == 403 and CAPTION not in r.text
            token = csrf_of(client.get("/").text)
            for form in SCAN_FORMS:
                r = client.post(form, data={"csrf": token, "type": "Daily"})
                assert r.status_code == 403, (form, r.status_code)
    with ASGIClient(served.app) as client:  # nor does the API answer them
        r = client.get("/api/v2.0/system/gc", headers=basic("dev", PASSWORD))
        assert r.status_code == 403
