"""The console's long lists stay bounded: with more projects, repositories, artifacts and audit
entries than one page holds, every list page shows at most 100 rows (whatever ``page_size``
asks for) and links to the next page, and the far pages hold the rest. The store is written in
bulk (as ``benchmarks/_make_console_store.py`` does), not pushed, so the test stays cheap."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from _infra.console import close_app, projects_app, sign_in, table_rows
from _infra.projects_registry import ADMIN_PASSWORD, team_with_people
from _infra.registry_server import ASGIClient, sha256
from dockyard.registry import RegistryApp
from dockyard.registry.access._schema import audit_log
from dockyard.registry.metadata._schema import manifests, repositories, tags

REPOSITORIES = 130  # in project "team"
PROJECTS = 104  # "team" and 103 empty ones
TAGS = 120  # of team/r000
AUDIT = 230


def _fill(app: RegistryApp) -> None:
    now = time.time()
    repo_rows = [
        {"id": i + 1, "name": f"team/r{i:03d}", "created_at": now - 1000 + i}
        for i in range(REPOSITORIES)
    ]
    manifest_rows = []
    for n in range(REPOSITORIES + TAGS - 1):
        body = json.dumps({"schemaVersion": 2, "n": n}).encode()
        manifest_rows.append(
            {
                "id": n + 1,
                "repo_id": n + 1 if n < REPOSITORIES else 1,
                "digest": sha256(body),
                "media_type": "application/vnd.oci.image.manifest.v1+json",
                "size": len(body),
                "content": body,
                "created_at": now - 500 + n,
            }
        )
    tag_ids = [1, *range(REPOSITORIES + 1, REPOSITORIES + TAGS)]
    tag_rows = [
        {"repo_id": 1, "name": f"v{i}", "manifest_id": m, "updated_at": now}
        for i, m in enumerate(tag_ids)
    ]
    audit_rows = [
        {
            "op_time": now - AUDIT + k,
            "operation": "pull",
            "resource_type": "artifact",
            "resource": "team/r000:v0",
            "username": "admin",
            "project": "team",
            "client_ip": "127.0.0.1",
            "ok": True,
            "description": "",
        }
        for k in range(AUDIT)
    ]
    with app.registry.meta.db.write() as conn:
        conn.execute(insert(repositories), repo_rows)
        conn.execute(insert(manifests), manifest_rows)
        conn.execute(insert(tags), tag_rows)
        conn.execute(insert(audit_log), audit_rows)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ASGIClient]:
    root: Path = tmp_path_factory.mktemp("console-paging") / "data"
    app, access = projects_app(root)
    admin = team_with_people(access)
    for i in range(1, PROJECTS):
        access.create_project(admin, f"p{i:03d}")
    _fill(app)
    with ASGIClient(app) as c:
        assert sign_in(c, "admin", ADMIN_PASSWORD).status_code == 303
        yield c
    close_app(app)


def _next(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize(
    ("path", "caption", "total", "what"),
    [
        ("/", "Projects you can see", PROJECTS, "projects"),
        ("/projects/team", "Repositories", REPOSITORIES, "repositories"),
        ("/projects/team/repository?name=r000", "Artifacts", TAGS, "artifacts"),
        ("/audit", "Recent entries you may read", None, "entries"),
    ],
)
def test_each_list_shows_one_page_and_links_to_the_rest(
    client: ASGIClient, path: str, caption: str, total: int | None, what: str
) -> None:
    seen: list[str] = []
    url: str | None = path
    pages = 0
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert len(r.content) < 200_000
        rows = table_rows(r.text, caption)
        assert 0 < len(rows) <= 100, f"{url}: {len(rows)} rows"
        seen += [row[0] for row in rows]
        pages += 1
        url = _next(r.text)
        if url is not None:
            assert re.search(rf"Page {pages} of \d+ \([\d,]+ {what}\)", r.text)
    if total is not None:
        assert len(seen) == total and len(set(seen)) == total  # each row once, none lost
        assert pages == (total + 99) // 100
    else:
        assert len(seen) >= AUDIT and pages >= 3
    # a page size beyond the bound is read as 100
    sep = "&" if "?" in path else "?"
    big = client.get(f"{path}{sep}page_size=100000")
    rows = table_rows(big.text, caption)
    assert len(rows) == 100
