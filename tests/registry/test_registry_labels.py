"""The label store on both engines (SQLite and a real PostgreSQL, migrated by the scripts):
names unique per scope and project (a global label's project is NULL, so the store checks
that itself), attaching and detaching, the artifacts carrying every label of a set, the
names an artifact carries, and what goes when a label, a project or a manifest goes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from _infra.registry_server import ASGIClient, push_image
from dockyard.errors import Conflict, InvalidArgument
from dockyard.registry import Registry, RegistryApp
from dockyard.registry.access._schema import projects
from dockyard.registry.labels import GLOBAL, PROJECT, LabelExists, LabelNotFound, labels_of
from dockyard.registry.metadata._schema import manifests, repositories


@pytest.fixture(params=["sqlite", "postgresql"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Registry]:
    if request.param == "sqlite":
        reg = Registry.open(tmp_path / "r")
    else:
        url = request.getfixturevalue("postgres_url")
        reg = Registry.open(tmp_path / "r", database=url)
    yield reg
    reg.close()


def _manifest_id(registry: Registry, repository: str, digest: str) -> int:
    with registry.meta.db.read() as conn:
        return int(
            conn.execute(
                select(manifests.c.id)
                .join(repositories, repositories.c.id == manifests.c.repo_id)
                .where(repositories.c.name == repository, manifests.c.digest == digest)
            ).scalar_one()
        )


def _project(registry: Registry, name: str) -> int:
    now = time.time()
    with registry.meta.db.write() as conn:
        result = conn.execute(projects.insert().values(name=name, created_at=now, updated_at=now))
        return int((result.inserted_primary_key or (0,))[0])


def test_the_label_store_on_both_engines(registry: Registry) -> None:
    store = labels_of(registry.meta.db)
    with ASGIClient(RegistryApp(registry, threads=2)) as client:
        a = push_image(client, "team/app", "a", seed=f"a-{id(registry)}")
        b = push_image(client, "team/app", "b", seed=f"b-{id(registry)}")
        c = push_image(client, "team/app", "c", seed=f"c-{id(registry)}")
    team = _project(registry, f"team{id(registry)}")
    release = store.create("release", GLOBAL, 99)  # a global label has no project
    assert (release.scope, release.project_id) == (GLOBAL, 0)
    with pytest.raises(LabelExists):
        store.create("release", GLOBAL, None)  # NULL project: the store's own check
    ours = store.create("release", PROJECT, team)  # the same name in a project: another label
    qa = store.create("qa", PROJECT, team, "checked", "#fff")
    with pytest.raises(LabelExists):
        store.create("release", PROJECT, team)
    with pytest.raises(InvalidArgument):
        store.create("x", PROJECT, None)
    with pytest.raises(LabelExists):
        store.update(qa.id, "release", "", "")
    assert store.update(qa.id, "qa-ok", "", "red").name == "qa-ok"

    ids = {d: _manifest_id(registry, "team/app", d) for d in (a.digest, b.digest, c.digest)}
    store.attach(release.id, ids[a.digest])
    store.attach(qa.id, ids[a.digest])
    store.attach(release.id, ids[b.digest])
    with pytest.raises(Conflict):
        store.attach(release.id, ids[a.digest])
    with pytest.raises(LabelNotFound):
        store.attach(999999, ids[a.digest])
    assert set(store.digests_with_all("team/app", (release.id,))) == {a.digest, b.digest}
    assert store.digests_with_all("team/app", (release.id, qa.id)) == (a.digest,)
    assert store.digests_with_all("team/app", (ours.id,)) == ()
    assert store.digests_with_all("other/app", (release.id,)) == ()
    assert store.names("team/app", a.digest) == {"release", "qa-ok"}
    assert [x.id for x in store.of_artifacts([ids[a.digest]])[ids[a.digest]]] == [
        release.id,
        qa.id,
    ]
    total, page = store.page(PROJECT, team, name_contains="qa")
    assert (total, [x.id for x in page]) == (1, [qa.id])
    total, page = store.page(PROJECT, team, sort=(("name", True),))
    assert [x.name for x in page] == ["release", "qa-ok"]

    store.detach(release.id, ids[b.digest])
    with pytest.raises(LabelNotFound):
        store.detach(release.id, ids[b.digest])
    store.delete(qa.id)  # off every artifact
    assert store.names("team/app", a.digest) == {"release"}
    with registry.meta.db.write() as conn:  # the project goes: its labels with it
        conn.execute(projects.delete().where(projects.c.id == team))
    assert store.get(ours.id) is None and store.get(release.id) is not None
    registry.delete_manifest("team/app", a.digest)  # the artifact goes: its labels with it
    assert store.of_artifacts([ids[a.digest]]) == {}
