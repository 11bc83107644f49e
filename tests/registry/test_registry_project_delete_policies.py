"""Deleting a project (through the Harbor API) removes every policy it had: webhook policies
with their delivery log, promotion policies, its retention policy with its history, and its
immutable-tag rules; another project's stay."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Table, func, insert, select

from _infra.projects_registry import ADMIN_PASSWORD, basic, projects_config, team_with_people
from _infra.registry_server import ASGIClient
from dockyard.registry import RegistryApp
from dockyard.registry._projects_mode import open_access
from dockyard.registry._server import build_app
from dockyard.registry.access import AccessService
from dockyard.registry.immutability._schema import immutable_rules
from dockyard.registry.promotion._schema import promotion_policies
from dockyard.registry.retention import _schema as retention
from dockyard.registry.webhooks import _schema as webhooks

ADMIN = basic("admin", ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RegistryApp, AccessService]]:
    root: Path = tmp_path_factory.mktemp("project-delete") / "data"
    app = build_app(projects_config(root), access_log=False)
    access = open_access(projects_config(root).access, app.registry.meta.db)  # type: ignore[arg-type]
    yield app, access
    for stop in app.on_shutdown:
        stop()
    app.registry.close()


def _policies(app: RegistryApp, project_id: int) -> None:
    """One row of every policy table (and of their histories) for ``project_id``."""
    now = time.time()
    with app.registry.meta.db.write() as conn:
        hook = conn.execute(
            insert(webhooks.policies).values(
                project_id=project_id, name="h", description="", enabled=True, event_types="[]",
                targets="[]", secret="", creator="admin", creation_time=now, update_time=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        run = conn.execute(
            insert(webhooks.executions).values(policy_id=hook, endpoint="",
                                               event_type="PUSH_ARTIFACT", start_time=now)
        ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        conn.execute(
            insert(webhooks.tasks).values(
                execution_id=run, address="http://127.0.0.1:9/x", payload=b"{}", headers="{}",
                verify=True, timeout=1.0, max_attempts=1, backoff=1.0, status="Pending",
                status_message="", run_count=0, next_time=now, lease_owner="", lease_until=0.0,
                log="", creation_time=now, update_time=now, start_time=0.0, end_time=0.0,
            )
        )  # fmt: skip
        conn.execute(
            insert(promotion_policies).values(project_id=project_id, project="p", tags="[]",
                                              require="{}", creation_time=now, update_time=now)
        )  # fmt: skip
        kept = conn.execute(
            insert(retention.policies).values(project_id=project_id, body="{}", created_at=now,
                                              updated_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]  # fmt: skip
        conn.execute(
            insert(retention.executions).values(policy_id=kept, status="Success",
                                                trigger="MANUAL", dry_run=False,
                                                stop_requested=False, start_time=now)
        )  # fmt: skip
        conn.execute(insert(retention.fires).values(policy_id=kept, fire_at=now))
        conn.execute(
            insert(immutable_rules).values(project_id=project_id, tag_filter="**", priority=0,
                                           disabled=False, created_at=now, updated_at=now)
        )  # fmt: skip


def _count(app: RegistryApp, table: Table) -> int:
    with app.registry.meta.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


TABLES = (
    webhooks.policies, webhooks.executions, webhooks.tasks, promotion_policies,
    retention.policies, retention.executions, retention.fires, immutable_rules,
)  # fmt: skip


def test_deleting_a_project_deletes_its_policies_and_their_history(
    served: tuple[RegistryApp, AccessService],
) -> None:
    app, access = served
    team_with_people(access, "doomed")
    team_with_people(access, "stays")
    doomed = access.projects.get("doomed").id
    _policies(app, doomed)
    _policies(app, access.projects.get("stays").id)
    assert [_count(app, t) for t in TABLES] == [2] * len(TABLES)
    with ASGIClient(app) as client:
        r = client.delete("/api/v2.0/projects/doomed", headers=ADMIN)
        assert r.status_code == 200, r.text
    assert [_count(app, t) for t in TABLES] == [1] * len(TABLES)  # the other project's stay
