"""``dockyard.storefiles`` (what the no-op rebuild reads of
the store before the rest loads) agree with the store they describe."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from dockyard.local import LocalStore, default_root
from dockyard.oci import Descriptor, mediatypes
from dockyard.reference import Reference
from dockyard.storefiles import (
    Error,
    blob_file,
    db_file,
    image_recorded,
    open_read_only,
    root_dir,
    tag_targets,
)


def test_the_default_root_is_the_stores_own(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in (
        {"DOCKYARD_ROOT": "/srv/a", "XDG_DATA_HOME": "/x", "HOME": "/h"},
        {"XDG_DATA_HOME": "/x", "HOME": "/h"},
        {"HOME": "/h"},
        {"DOCKYARD_ROOT": "", "XDG_DATA_HOME": "", "HOME": "/h"},
    ):
        for name in ("DOCKYARD_ROOT", "XDG_DATA_HOME", "HOME"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert root_dir() == root_dir(env) == str(default_root()), env


def test_paths_and_questions_match_what_the_store_wrote(tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "store") as store:
        data = b'{"schemaVersion": 2}'
        digest = store.content.put_bytes(data)
        store.record_image(digest, None, None)
        target = Descriptor(mediatypes.OCI_MANIFEST, digest, len(data))
        store.set_tag(Reference.parse("app:1"), target)
        root = str(store.root)
        assert os.path.samefile(db_file(root), store.metadata.path)
        with open(blob_file(root, str(digest)), "rb") as f:
            assert f.read() == data
        conn = open_read_only(db_file(root))
        try:
            assert image_recorded(conn, str(digest))
            assert not image_recorded(conn, "sha256:" + "0" * 64)
            names = ["docker.io/library/app:1", "docker.io/library/app:2"]
            assert tag_targets(conn, names) == {names[0]: str(digest)}
            assert tag_targets(conn, []) == {}
            with pytest.raises(Error):  # read-only: the store's writes stay the store's
                conn.execute("DELETE FROM tags")
        finally:
            conn.close()


def test_a_missing_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    with pytest.raises(Error):
        open_read_only(str(tmp_path / "none.db")).execute("SELECT 1 FROM images")
    assert not (tmp_path / "none.db").exists()


def test_a_write_that_is_not_durable_is_seen_by_other_connections_at_once(
    tmp_path: Path,
) -> None:
    with LocalStore.open(tmp_path / "store") as store:
        with store.metadata.write(durable=False) as conn:
            lease = store.metadata.create_lease(60, "not synced")
            assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        other = sqlite3.connect(store.metadata.path)
        try:
            rows = other.execute("SELECT description FROM leases WHERE id = ?", (lease.id,))
            assert rows.fetchall() == [("not synced",)]
        finally:
            other.close()
        with store.metadata.read() as conn:  # the connection is back to synced commits
            assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
