"""A scan that ends while PostgreSQL is down keeps its result and stores it once the database
answers again — seconds after, not when its five-minute lease runs out. A real PostgreSQL
server of this test's own is crashed (``pg_ctl stop -m immediate``) at the moment the scan
hands its result to the queue (the queue's ``finish`` is wrapped only to choose that moment)
and started again three seconds later."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from _infra.postgres import PostgresServer, available, module_database, start_postgres
from _infra.projects_registry import ADMIN_PASSWORD, basic, team_with_people, wait_for
from _infra.registry_server import ASGIClient, AuthedClient
from _infra.scanning_registry import push_scannable, scanning_app
from dockyard.registry.scanning import ScanRecords, scan_all_of
from dockyard.registry.scanning._queue import LEASE

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[PostgresServer]:
    if not available():
        pytest.skip("PostgreSQL 15 is not installed (apt-get install postgresql-15)")
    found = start_postgres()
    yield found
    found.stop()


def test_a_result_refused_by_a_database_outage_is_stored_when_it_returns(
    server: PostgresServer,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, "dockyard.registry.scanning")
    root = tmp_path_factory.mktemp("scan-outage")
    with (
        module_database(server, __name__) as url,
        scanning_app(root, REGISTRY_DATABASE_URL=url) as (app, access),
    ):
        team_with_people(access)
        scanning = scan_all_of(app.registry)
        assert scanning is not None
        tasks = scanning.scanner.tasks
        finish = tasks.finish
        crashed = threading.Event()

        def outage_then_finish(*args: Any, **kwargs: Any) -> bool:
            if not crashed.is_set():  # the first attempt: the database goes away now
                server.crash()
                crashed.set()
            return finish(*args, **kwargs)

        monkeypatch.setattr(tasks, "finish", outage_then_finish)
        with ASGIClient(app) as client:
            admin = AuthedClient(client, basic("admin", ADMIN_PASSWORD))
            image = push_scannable(admin, "team/app", "outage")
            r = admin.post("/api/v2.0/projects/team/repositories/app/artifacts/1/scan")
            assert r.status_code == 202, r.text
            records = ScanRecords(app.registry.meta.db)
            # (started from this thread: the server dies with the thread that started it)
            assert crashed.wait(60), "the scan never ended"
            time.sleep(3)
            server.start()
            back = time.monotonic()

            def stored() -> bool:
                try:
                    found = records.get(image)
                except Exception:  # the database is still down
                    return False
                return found is not None and found.status == "done"

            wait_for(stored, timeout=60)
            assert time.monotonic() - back < LEASE / 10  # seconds after, not the lease
    text = caplog.text
    assert "cannot store the scan report of team/app@" + image in text, text
    assert "stored the scan report of team/app@" + image in text, text
