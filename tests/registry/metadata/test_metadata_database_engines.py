"""The registry's metadata statements on both engines, SQLite and PostgreSQL: the same calls,
the same answers, and writers that read-then-write stay correct when they race (SQLite's
``BEGIN IMMEDIATE``, PostgreSQL's transaction-scoped advisory lock)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from _infra.postgres import reset
from _infra.registry_server import ASGIClient, push_image
from dockyard.registry import Registry, RegistryApp, collect_garbage
from dockyard.registry.metadata import (
    WRITE_LOCK,
    ArtifactQuery,
    Database,
    Inventory,
    NewManifest,
    RegistryMetadata,
    RepositoryQuery,
)
from dockyard.registry.migrations import prepare

ENGINES = ("sqlite", "postgresql")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(params=ENGINES)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database = Database(request.getfixturevalue("postgres_url"))
        reset(database)
    else:
        database = Database(tmp_path / "registry.db")
    prepare(database)
    yield database
    database.close()


@pytest.fixture
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """For Registry.open: None (SQLite in the root) or the module's PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    db = Database(url)
    reset(db)
    db.close()
    return url


def _manifest(seed: str) -> NewManifest:
    content = f'{{"schemaVersion":2,"seed":"{seed}"}}'.encode()
    return NewManifest(
        digest=_digest(content),
        media_type="application/vnd.oci.image.manifest.v1+json",
        content=content,
        artifact_type=None,
        subject=None,
        annotations=None,
        blobs=frozenset({_digest(b"config-" + seed.encode())}),
        children=frozenset(),
    )


def _race(threads: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``threads`` threads released together; the exceptions raised."""
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            work(i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return errors


def test_metadata_round_trip(db: Database) -> None:
    meta = RegistryMetadata(db)
    blob = _digest(b"layer")
    meta.add_blob("team/app", blob, 5)
    assert meta.blob_size("team/app", blob) == 5
    assert meta.link_blob("team/other", blob, source="team/app") == 5
    assert meta.touch_blob("team/other", blob) == 5
    m = _manifest("one")
    meta.put_manifest("team/app", m, ["v1", "latest"])
    meta.put_manifest("team/app", m, ["v1"])  # again: nothing new, no error
    record = meta.manifest_by_tag("team/app", "latest")
    assert record is not None and record.digest == m.digest and record.content == m.content
    assert meta.tags("team/app", None, None) == ["latest", "v1"]
    assert meta.tags("team/app", 1, "latest") == ["v1"]
    assert meta.tags_on("team/app", m.digest) == ["latest", "v1"]
    meta.create_upload("u1", "team/app")
    meta.set_upload_offset("u1", 42)
    upload = meta.upload_by_id("u1")
    assert upload is not None and upload.offset == 42 and upload.repository == "team/app"
    assert meta.delete_upload("u1") and not meta.upload_recorded("u1")
    assert meta.delete_tag("team/app", "latest")
    assert meta.delete_manifest("team/app", m.digest)
    assert meta.tags("team/app", None, None) == []
    assert meta.forget_blob(blob, lambda: None) == ["team/app", "team/other"]
    assert meta.counts()["blobs"] == 0


def test_catalog_and_tags_sort_by_bytes(db: Database) -> None:
    """SQLite compares bytes; PostgreSQL must too (the C collation), or pagination with
    ``last`` skips or repeats names."""
    meta = RegistryMetadata(db)
    names = ["b", "B", "a-b", "a.b", "a/b", "a_b", "a0", "Z"]
    for i, name in enumerate(names):
        meta.put_manifest(name, _manifest(f"r{i}"), ["v1"])
        meta.put_manifest("tags", _manifest(f"t{i}"), [name.replace("/", "_")])
    everything = sorted([*names, "tags"])
    assert meta.catalog(None, None) == everything
    after = everything.index("a.b") + 1
    assert meta.catalog(3, "a.b") == everything[after : after + 3]
    wanted = sorted({n.replace("/", "_") for n in names})
    assert meta.tags("tags", None, None) == wanted


def test_the_inventory_pages_sorts_and_matches_alike(db: Database) -> None:
    """Harbor's listings (``q=name=~…``: a case-insensitive substring, as Harbor matches), their
    counts, grouping and sort orders give the same answers on both engines."""
    meta = RegistryMetadata(db)
    for i, name in enumerate(["team/app", "team/api", "team/web", "other/app"]):
        for j in range(i + 1):
            meta.put_manifest(name, _manifest(f"{name}{j}"), [f"V{j}-rc"])
    inventory = Inventory(db)
    total, rows = inventory.repositories(
        RepositoryQuery(name_contains="APP", sort=(("name", False),))
    )
    assert (total, [r.name for r in rows]) == (2, ["other/app", "team/app"])
    assert [r.artifact_count for r in rows] == [4, 1]
    _, rows = inventory.repositories(RepositoryQuery(sort=(("artifact_count", True),), limit=2))
    assert [r.name for r in rows] == ["other/app", "team/web"]
    total, artifacts = inventory.artifacts(
        "other/app", ArtifactQuery(tag_contains="v2-", sort=(("digest", False),))
    )
    assert total == 1 and artifacts[0].digest == _manifest("other/app2").digest


def test_a_read_transaction_sees_one_snapshot(db: Database) -> None:
    """A count and the rows it counts agree, whatever commits between the two statements."""
    meta = RegistryMetadata(db)
    meta.put_manifest("team/app", _manifest("one"), ["1"])
    with db.read() as conn:
        before = conn.execute(text("SELECT count(*) FROM tags")).scalar_one()
        meta.put_manifest("team/app", _manifest("two"), ["2"])  # another connection commits
        after = conn.execute(text("SELECT count(*) FROM tags")).scalar_one()
    assert before == after == 1
    assert meta.tags("team/app", None, None) == ["1", "2"]


def test_racing_pushes_of_one_manifest_record_it_once(db: Database) -> None:
    meta = RegistryMetadata(db)
    m = _manifest("raced")

    def push(i: int) -> None:
        meta.add_blob("team/raced", _digest(b"shared-layer"), 12)
        meta.put_manifest("team/raced", m, ["latest", f"t{i}"])

    assert _race(8, push) == []
    with db.read() as conn:
        count = conn.execute(text("SELECT count(*) FROM manifests")).scalar_one()
        repos = conn.execute(text("SELECT count(*) FROM repositories")).scalar_one()
    assert (count, repos) == (1, 1)
    assert meta.tags("team/raced", None, None) == sorted(["latest", *[f"t{i}" for i in range(8)]])


def test_racing_writers_never_interleave(db: Database) -> None:
    """A read-then-write (a counter read, then written back one higher) from many threads loses
    no increment: the write transactions take turns."""
    with db.write() as conn:
        conn.execute(text("INSERT INTO registry_state (key, value) VALUES ('race', 0)"))

    def bump(_: int) -> None:
        for _ in range(5):
            with db.write() as conn:
                value = conn.execute(
                    text("SELECT value FROM registry_state WHERE key = 'race'")
                ).scalar_one()
                conn.execute(
                    text("UPDATE registry_state SET value = :v WHERE key = 'race'"),
                    {"v": value + 1},
                )

    assert _race(6, bump) == []
    with db.read() as conn:
        assert (
            conn.execute(text("SELECT value FROM registry_state WHERE key = 'race'")).scalar_one()
            == 30
        )


def test_a_postgresql_write_holds_the_lock_until_it_ends(postgres_url: str) -> None:
    db = Database(postgres_url)
    probe = f"SELECT pg_try_advisory_xact_lock({WRITE_LOCK})"
    with db.engine.connect() as other:
        with db.write() as conn:
            conn.execute(select(func.now()))
            assert other.execute(text(probe)).scalar_one() is False
            other.rollback()
        assert other.execute(text(probe)).scalar_one() is True
        other.rollback()
        with db.read() as conn:  # reads take no lock
            conn.execute(select(func.now()))
            assert other.execute(text(probe)).scalar_one() is True
            other.rollback()
    db.close()


@pytest.mark.parametrize("database", ENGINES, indirect=True)
def test_push_pull_and_gc_through_the_registry(database: str | None, tmp_path: Path) -> None:
    registry = Registry.open(tmp_path / "registry", database=database)
    try:
        with ASGIClient(RegistryApp(registry, threads=2)) as client:
            image = push_image(client, "team/app", "1")
            kept = push_image(client, "team/app", "2", seed="kept")
            r = client.get("/v2/team/app/manifests/1")
            assert r.status_code == 200 and r.content == image.manifest
            assert client.get("/v2/_catalog").json() == {"repositories": ["team/app"]}
            assert client.delete(f"/v2/team/app/manifests/{image.digest}").status_code == 202
        report = collect_garbage(registry, grace=0)
        assert _digest(image.layers[0]) in report.blobs
        assert _digest(kept.layers[0]) not in report.blobs
        assert registry.meta.manifest_by_tag("team/app", "2") is not None
    finally:
        registry.close()


def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (every 5 ms, for at most 30 s: a bound, not a measurement)."""
    deadline = threading.Event()
    timer = threading.Timer(30, deadline.set)
    timer.start()
    try:
        while not condition():
            assert not deadline.wait(0.005), f"never: {what}"
    finally:
        timer.cancel()


def test_writers_waiting_says_when_a_write_waits_for_the_lock(db: Database) -> None:
    """The collector pauses while other writers wait: ``writers_waiting`` is True exactly while
    a write transaction waits for one that holds the lock, on both engines."""
    assert db.writers_waiting() is False
    got = threading.Event()

    def writer() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO registry_state (key, value) VALUES ('waited', 1)"))
        got.set()

    with db.write() as conn:
        conn.execute(select(func.count()).select_from(text("registry_state")))
        thread = threading.Thread(target=writer)
        thread.start()
        _until(db.writers_waiting, "the second writer is seen waiting")
        assert not got.is_set()
    thread.join(30)
    assert got.is_set() and db.writers_waiting() is False
    with db.read() as conn:
        value = conn.execute(text("SELECT value FROM registry_state WHERE key = 'waited'"))
        assert value.scalar_one() == 1


def test_a_sqlite_writer_gives_up_after_the_lock_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer retrying ``BEGIN IMMEDIATE`` stops at the lock timeout with SQLAlchemy's
    "database is locked", and its connection keeps SQLite's busy timeout for later use."""
    from sqlalchemy.exc import OperationalError

    from dockyard.registry.metadata import _engine

    db = Database(tmp_path / "registry.db")
    monkeypatch.setattr(_engine, "LOCK_TIMEOUT", 0.2)
    failed: list[BaseException] = []

    def writer() -> None:
        try:
            with db.write():
                pass
        except OperationalError as exc:
            failed.append(exc)

    with db.write():
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(30)
    assert len(failed) == 1 and "database is locked" in str(failed[0])
    assert db.writers_waiting() is False
    with db.write() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 200
    db.close()
