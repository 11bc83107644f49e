"""Endpoint credentials at rest: sealed with AES-GCM under the configured key (never in
clear in the database), opened to be used, secrets stored in clear by an older dockyard
sealed at start, a wrong or missing key stopping the start with what to set, and the key
file made once (mode 0600) when none is configured."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.registry.metadata import Database
from dockyard.registry.replication import (
    MASK,
    RegistryStore,
    RemoteRegistry,
    SecretBox,
    WrongSecretKey,
    load_box,
    open_replication,
    registry_from_json,
    registry_update,
    replication_settings,
)
from dockyard.registry.replication._schema import registries

KEY = "correct horse battery staple"
SECRET = "Mirror123-s3cret"


def _endpoint(name: str = "d", secret: str = SECRET) -> RemoteRegistry:
    return registry_from_json({"name": name, "url": "http://127.0.0.1:5000",
                               "credential": {"access_key": "u", "access_secret": secret}})  # fmt: skip


def _stored(db: Database) -> list[str]:
    with db.read() as conn:
        return [r.access_secret for r in conn.execute(select(registries.c.access_secret))]


def test_secrets_are_sealed_in_the_database_and_opened_to_be_used(tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    store = RegistryStore(db, load_box(KEY))
    made = store.create(_endpoint())
    (raw,) = _stored(db)
    assert raw.startswith("aesgcm:v1:") and SECRET not in raw
    assert store.get(made.id).access_secret == SECRET
    # each sealing has its own nonce: the same secret never reads the same twice
    assert SecretBox(KEY.encode()).seal(SECRET) != SecretBox(KEY.encode()).seal(SECRET)
    # an update keeps the stored secret when given blank or the API's mask
    for kept in ("", MASK):
        store.update(registry_update(store.get(made.id), {"access_secret": kept}))
        assert store.get(made.id).access_secret == SECRET
    with pytest.raises(InvalidArgument, match="mask"):
        registry_from_json({"name": "m", "url": "http://h",
                            "credential": {"access_key": "u", "access_secret": MASK}})  # fmt: skip


def test_clear_rows_are_sealed_at_start_and_a_wrong_key_stops_it(tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    old = RegistryStore(db)  # an older dockyard: no key, secrets in clear
    with db.write() as conn:
        conn.execute(registries.insert().values(
            name="old", type="docker-registry", url="http://127.0.0.1:5000",
            credential_type="basic", access_key="u", access_secret=SECRET, description="",
            insecure=False, creation_time=1.0, update_time=1.0))  # fmt: skip
    assert old.get(1).access_secret == SECRET
    store = RegistryStore(db, load_box(KEY))
    assert store.seal_stored() == 1
    assert store.seal_stored() == 0  # once
    (raw,) = _stored(db)
    assert SECRET not in raw and store.get(1).access_secret == SECRET
    wrong = RegistryStore(db, load_box("another key entirely"))
    with pytest.raises(WrongSecretKey, match=r"replication\.secretkey") as caught:
        wrong.seal_stored()
    assert "the key they were stored with" in str(caught.value)
    with pytest.raises(WrongSecretKey):
        wrong.get(1)
    keyless = RegistryStore(db)
    with pytest.raises(FailedPrecondition, match="REGISTRY_REPLICATION_SECRETKEY"):
        keyless.seal_stored()
    with pytest.raises(FailedPrecondition, match="no key"):
        keyless.create(_endpoint("new"))
    with pytest.raises(InvalidArgument, match="at least 16"):
        load_box("short")


def test_the_default_key_file_is_made_once_and_kept(tmp_path: Path) -> None:
    settings = replication_settings(None, tmp_path)
    assert settings.secret_key_file == tmp_path / "replication.key" and settings.make_key_file
    first = load_box(settings.secret_key, settings.secret_key_file, make=True)
    mode = stat.S_IMODE((tmp_path / "replication.key").stat().st_mode)
    assert mode == 0o600
    again = load_box(settings.secret_key, settings.secret_key_file, make=True)
    assert first.key == again.key and first.key is not None and len(first.key) >= 16
    assert again.open(first.seal(SECRET)) == SECRET
    # a key file that is configured must exist: it is never made in its place
    given = replication_settings({"secretkeyfile": str(tmp_path / "elsewhere.key")}, tmp_path)
    assert not given.make_key_file
    with pytest.raises(FailedPrecondition, match="does not exist"):
        load_box(given.secret_key, given.secret_key_file, make=given.make_key_file)
    (tmp_path / "elsewhere.key").write_text(KEY + "\n")
    assert load_box(given.secret_key, given.secret_key_file).key == KEY.encode()
    assert replication_settings({"secretkey": KEY}).secret_key == KEY


def test_a_registry_with_the_wrong_key_does_not_start_replication(tmp_path: Path) -> None:
    from _infra import backend

    registry = backend.open_registry(tmp_path / "data")
    try:
        first = open_replication(registry, replication_settings({"secretkey": KEY}), run=False)
        first.registries.create(_endpoint())
        first.close()
        with pytest.raises(WrongSecretKey):
            open_replication(registry, replication_settings({"secretkey": "x" * 20}), run=False)
        again = open_replication(registry, replication_settings({"secretkey": KEY}), run=False)
        assert again.registries.get(1).access_secret == SECRET
        again.close()
    finally:
        registry.close()
