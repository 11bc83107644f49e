"""The two queries that keep the dashboard and the project page fast, on both engines (SQLite
and PostgreSQL): the audit log counted per operation and per day in one grouped query (the
same numbers as one count a day, entries on the edges of a day in the right one), and a page
of repositories sorted by name or creation time, whose counts and times are computed for
that page only (the same rows as each repository looked up alone)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.postgres import reset
from dockyard.errors import InvalidArgument
from dockyard.registry.access import AuditLog, AuditQuery, Match
from dockyard.registry.metadata import (
    Database,
    Inventory,
    NewManifest,
    RegistryMetadata,
    RepositoryQuery,
)
from dockyard.registry.migrations import prepare

DAY = 86400
START = 1_700_006_400  # a UTC midnight


@pytest.fixture(params=("sqlite", "postgresql"))
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database = Database(request.getfixturevalue("postgres_url"))
        reset(database)
    else:
        database = Database(tmp_path / "registry.db")
    prepare(database)
    yield database
    database.close()


def test_audit_counts_per_day_in_one_query(db: Database) -> None:
    log = AuditLog(db, clock=lambda: START + 10 * DAY, max_rows=10_000)
    times = [
        START - 1,  # before the range: not counted
        START,
        START + 0.5,
        START + DAY - 0.001,  # the last moment of day 0
        START + DAY,  # the first of day 1
        START + 2 * DAY + 7,
        START + 3 * DAY,  # the range's end (exclusive): not counted
    ]
    entries = [
        {"operation": op, "resource_type": "artifact", "resource": "team/app@sha256:1",
         "username": "dev", "project": project, "ok": ok, "op_time": t}
        for t in times
        for op, project, ok in (("create", "team", True), ("pull", "team", True),
                                ("pull", "other", True), ("pull", "team", False))
    ]  # fmt: skip
    log.record_many(entries)
    query = AuditQuery(operation=Match(("create", "pull")), resource_type="artifact", ok=True,
                       projects=["team"])  # fmt: skip
    counts = log.counts(query, start=START, step=DAY, steps=3)
    assert counts == {"create": [3, 1, 1], "pull": [3, 1, 1]}
    for day in range(3):  # the same as one listing a day
        since, until = START + day * DAY, START + (day + 1) * DAY - 0.0001
        one = AuditQuery(operation="pull", resource_type="artifact", ok=True, projects=["team"],
                         since=since, until=until)  # fmt: skip
        assert log.query(one, page_size=1).total == counts["pull"][day]
    everyone = log.counts(AuditQuery(operation="pull"), start=START, step=DAY, steps=3)
    assert everyone == {"pull": [9, 3, 3]}
    assert log.counts(AuditQuery(username="nobody"), start=START, step=DAY, steps=3) == {}
    for step, steps in ((0, 3), (DAY, 0), (DAY, 1001)):
        with pytest.raises(InvalidArgument):
            log.counts(query, start=START, step=step, steps=steps)


def _manifest(seed: str) -> NewManifest:
    content = f'{{"schemaVersion":2,"seed":"{seed}"}}'.encode()
    digest = "sha256:" + hashlib.sha256(content).hexdigest()
    return NewManifest(
        digest=digest, media_type="application/vnd.oci.image.manifest.v1+json", content=content,
        artifact_type=None, subject=None, annotations=None, blobs=frozenset(),
        children=frozenset(),
    )  # fmt: skip


def test_a_page_of_repositories_is_computed_for_that_page_only(db: Database) -> None:
    meta = RegistryMetadata(db)
    names = [f"team/r{i:02d}" for i in range(23)]
    for i, name in enumerate(names):
        for j in range(i % 4 + 1):
            meta.put_manifest(name, _manifest(f"{name}-{j}"), [f"v{j}"])
    meta.put_manifest("other/x", _manifest("other"), ["v1"])
    inventory = Inventory(db)
    alone = {n: inventory.repository(n) for n in names}
    for sort in ((("name", False),), (("name", True),), ()):
        seen = []
        for offset in range(0, 30, 10):
            query = RepositoryQuery(prefixes=("team/",), sort=sort, offset=offset, limit=10)
            total, rows = inventory.repositories(query)
            assert total == 23
            assert all(row == alone[row.name] for row in rows)
            seen += [row.name for row in rows]
        assert sorted(seen) == names and len(seen) == 23
        if sort:
            assert seen == sorted(names, reverse=sort[0][1])
    _, by_count = inventory.repositories(
        RepositoryQuery(prefixes=("team/",), sort=(("artifact_count", True), ("name", False)))
    )
    assert [r.artifact_count for r in by_count[:3]] == [4, 4, 4]
    assert inventory.repositories(RepositoryQuery(prefixes=("team/",), offset=50)) == (23, [])
