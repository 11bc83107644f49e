"""The dashboard, in-process: storage by project, pushes and pulls a day from the audit log,
only what the user may see (an administrator every project, a member theirs), charts as
inline SVG with a table of the same numbers, and the days moving with the console's clock.
(The vulnerability chart, which needs scanning on, is in
``test_console_vulnerability_summary.py`` and the browser test.) Also the paging
of the repository and audit pages, over the same registry's artifacts and entries."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra.console import close_app, projects_app, push_with_history, sign_in, table_rows
from _infra.projects_registry import (
    ADMIN_PASSWORD,
    PASSWORD,
    audit_entries,
    basic,
    team_with_people,
    wait_for,
)
from _infra.registry_server import ASGIClient, AuthedClient
from dockyard.registry import RegistryApp
from dockyard.registry.access import AccessService
from dockyard.registry.console._charts import Bar, bars

SCRIPT = "<script>alert(1)</script>"


@dataclass
class Served:
    app: RegistryApp
    access: AccessService


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("console-dashboard") / "data"
    app, access = projects_app(root)
    admin = team_with_people(access)
    access.create_project(admin, "secret-stuff")
    with ASGIClient(app) as client:
        as_dev = AuthedClient(client, basic("dev", PASSWORD))
        push_with_history(as_dev, "team/app", "v1")
        push_with_history(as_dev, "team/app", "v2", commands=("ADD big.tar /",) * 3)
        pulled = as_dev.get("/v2/team/app/manifests/v1")
        assert pulled.status_code == 200
        as_admin = AuthedClient(client, basic("admin", ADMIN_PASSWORD))
        push_with_history(as_admin, "secret-stuff/hidden", "v1")
    wait_for(lambda: len(audit_entries(access, operation="create", resource_type="artifact")) >= 3)
    wait_for(lambda: audit_entries(access, operation="pull", resource_type="artifact"))
    yield Served(app, access)
    close_app(app)


@pytest.fixture
def client(served: Served) -> Iterator[ASGIClient]:
    with ASGIClient(served.app) as c:
        yield c


def test_an_administrator_sees_every_project_and_the_activity(
    client: ASGIClient, served: Served
) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    assert '<a href="/dashboard">Dashboard</a>' in client.get("/").text  # linked from the header
    r = client.get("/dashboard")
    assert r.status_code == 200 and len(r.content) < 200_000
    page = r.text
    storage = dict((row[0], row[1]) for row in table_rows(page, "Storage used by project (table)"))
    assert set(storage) == {"team", "secret-stuff"}
    assert storage["team"] != "0 B" and storage["secret-stuff"] != "0 B"
    assert '<svg class="chart" id="storage-chart"' in page and 'role="img"' in page
    totals = {row[0]: row[1:] for row in table_rows(page, "Pushes and pulls")}
    assert totals["Pushes"] == ["3", "3"] and int(totals["Pulls"][0]) >= 1
    days = table_rows(page, "Pushes and pulls a day, last 30 days: days with any (table, count)")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert days[-1][0] == today and days[-1][1] == "3"
    assert "Vulnerable artifacts" not in page  # scanning is off here
    r = client.get("/api/v2.0/vulnerabilities/summary", headers=basic("admin", ADMIN_PASSWORD))
    assert r.status_code == 412 and "does not scan" in r.text  # nor is the summary there
    assert "<script>" not in page.replace('<script src="/static/console.js" defer></script>', "")


def test_a_member_sees_only_their_projects(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "dev", PASSWORD).status_code == 303
    page = client.get("/dashboard").text
    storage = [row[0] for row in table_rows(page, "Storage used by project (table)")]
    assert storage == ["team"]
    assert "secret-stuff" not in page
    # a developer may not read the project's logs: no activity counted for them
    totals = {row[0]: row[1:] for row in table_rows(page, "Pushes and pulls")}
    assert totals["Pushes"] == ["0", "0"]


def test_the_days_follow_the_clock(client: ASGIClient, served: Served) -> None:
    console = served.app.console
    assert console is not None
    later = time.time() + 40 * 86400
    console.clock = lambda: later  # type: ignore[attr-defined]
    try:
        assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
        page = client.get("/dashboard").text
    finally:
        console.clock = time.time  # type: ignore[attr-defined]
    totals = {row[0]: row[1:] for row in table_rows(page, "Pushes and pulls")}
    assert totals["Pushes"] == ["0", "0"] and totals["Pulls"] == ["0", "0"]
    last = table_rows(page, "Pushes and pulls a day, last 30 days: days with any (table, count)")
    assert last == [["none"]]


def test_the_audit_log_counts_per_day_in_one_call(client: ASGIClient, served: Served) -> None:
    """``bucket=`` (dockyard's, the dashboard's one call a chart): the same numbers as one
    listing a day, a developer's counts limited to what they may read, Harbor's answer
    unchanged without it, and bad buckets are Harbor's 400."""
    admin = basic("admin", ADMIN_PASSWORD)
    day = 86400
    today = int(time.time()) // day * day
    span = f"op_time=[{today - 2 * day}~{today + day - 1}]"
    q = f"operation={{create pull}},resource_type=artifact,op_result=true,{span}"
    r = client.get("/api/v2.0/auditlog-exts", params={"q": q, "bucket": str(day)}, headers=admin)
    assert r.status_code == 200, r.text
    counted = {(c["operation"], c["op_time"][:10]): c["count"] for c in r.json()}
    for operation in ("create", "pull"):
        for start in (today - 2 * day, today - day, today):
            one = f"operation={operation},resource_type=artifact,op_result=true,"
            one += f"op_time=[{start}~{start + day - 1}]"
            listed = client.get("/api/v2.0/auditlog-exts", params={"q": one, "page_size": "1"},
                                headers=admin)  # fmt: skip
            date = time.strftime("%Y-%m-%d", time.gmtime(start))
            assert counted.get((operation, date), 0) == int(listed.headers["x-total-count"])
    assert counted[("create", time.strftime("%Y-%m-%d", time.gmtime(today)))] == 3
    plain = client.get("/api/v2.0/auditlog-exts", params={"q": q}, headers=admin)
    assert {"id", "operation", "op_time", "operation_result"} <= set(plain.json()[0])
    dev = client.get("/api/v2.0/auditlog-exts", params={"q": q, "bucket": str(day)},
                     headers=basic("dev", PASSWORD))  # fmt: skip
    assert dev.status_code == 200 and dev.json() == []  # may not read the project's log
    for bad in ({"q": q, "bucket": "0"}, {"q": q, "bucket": "day"}, {"bucket": "60"},
                {"q": f"op_time=[0~{today}]", "bucket": "1"}):  # fmt: skip
        refused = client.get("/api/v2.0/auditlog-exts", params=bad, headers=admin)
        assert refused.status_code == 400 and "bucket" in refused.text


def test_labels_are_text_in_charts() -> None:
    # project names cannot hold markup; the chart's labels are escaped all the same
    html = bars("x", "caption", [Bar(SCRIPT, 5)], unit="n", label="l")
    assert SCRIPT not in html and "&lt;script&gt;" in html


def _links(page: str) -> dict[str, str]:
    """rel → href of the page links."""
    found = re.findall(r'<a rel="(prev|next)" href="([^"]+)"', page)
    return {rel: link.replace("&amp;", "&") for rel, link in found}


def test_repository_and_audit_pages_go_page_by_page(client: ASGIClient, served: Served) -> None:
    assert sign_in(client, "admin", ADMIN_PASSWORD).status_code == 303
    first = client.get("/projects/team/repository", params={"name": "app", "page_size": "1"})
    assert first.status_code == 200 and "Page 1 of 2 (2 artifacts)" in first.text
    links = _links(first.text)
    assert set(links) == {"next"} and "q=" not in links["next"]
    second = client.get(links["next"])
    assert "Page 2 of 2" in second.text and set(_links(second.text)) == {"prev"}
    shown = [re.findall(r"<td>(v\d)</td>", p.text) for p in (first, second)]
    assert sorted(shown[0] + shown[1]) == ["v1", "v2"]  # each once, newest first
    assert shown[0] == ["v2"]
    # searching keeps to the API's filters: by tag, by digest, and markup is harmless
    found = client.get("/projects/team/repository", params={"name": "app", "q": "v1"})
    assert re.findall(r"<td>(v\d)</td>", found.text) == ["v1"]
    assert "Page 1" not in found.text  # one page: no links
    digest = re.search(r"<code>(sha256:[0-9a-f]{12})", second.text)
    assert digest is not None
    by_digest = client.get(
        "/projects/team/repository", params={"name": "app", "q": digest.group(1)}
    )
    assert re.findall(r"<td>(v\d)</td>", by_digest.text) == shown[1]
    odd = client.get("/projects/team/repository", params={"name": "app", "q": "{a,b}=~[x]"})
    assert odd.status_code == 200
    # the audit log, two entries a page
    audit = client.get("/audit", params={"page_size": "2"})
    assert audit.status_code == 200 and "Page 1 of" in audit.text
    nxt = _links(audit.text)["next"]
    assert "page=2" in nxt and "page_size=2" in nxt
    assert client.get(nxt).status_code == 200
    nonsense = client.get("/audit", params={"page": "x", "page_size": "100000"})
    assert nonsense.status_code == 200  # read as the first page of 100
