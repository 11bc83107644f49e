"""``storage.maintenance.fsck``: the server checks every blob on a schedule, logs what is
wrong, and with ``quarantine: true`` moves corrupt blobs aside (a real server process)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from _infra import backend
from _infra.registry_server import flip_a_blob_byte, push_blob, start_registry
from dockyard.digest import Digest
from dockyard.errors import InvalidArgument
from dockyard.registry import config
from dockyard.registry.storage import blob_key


def _wait_for(predicate: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout:.0f} s")


@pytest.mark.slow
def test_scheduled_fsck_finds_and_quarantines_a_corrupt_blob(tmp_path: Path) -> None:
    env = {
        "REGISTRY_STORAGE_MAINTENANCE_FSCK_ENABLED": "true",
        "REGISTRY_STORAGE_MAINTENANCE_FSCK_INTERVAL": "1s",
        "REGISTRY_STORAGE_MAINTENANCE_FSCK_QUARANTINE": "true",
    }
    with start_registry(tmp_path / "data", env=env) as server:
        # larger than limits.verifyreadbytes: a GET would serve it unhashed
        data = os.urandom(3 << 20)
        with (
            httpx.Client(base_url=server.url, timeout=30) as client,
            backend.storage(server.root) as storage,
        ):
            digest = push_blob(client, "team/app", data)
            key = blob_key(Digest.parse(digest))
            flip_a_blob_byte(storage, digest)
            _wait_for(lambda: storage.stat(key) is None, "the corrupt blob is quarantined")
            # the line is logged just after the move: wait for it too
            _wait_for(
                lambda: f"fsck: corrupt blob {digest}" in server.log.read_text(errors="replace"),
                "the corrupt blob is logged",
            )
            assert "team/app" in server.log.read_text(errors="replace")
            assert len(list(storage.list("quarantine"))) == 1
            assert client.head(f"/v2/team/app/blobs/{digest}").status_code == 404
            # the registry goes on serving, and an intact blob is left alone
            good = push_blob(client, "team/app", b"intact" * 1000)
            time.sleep(2.5)
            assert client.get(f"/v2/team/app/blobs/{good}").content == b"intact" * 1000


def test_fsck_schedule_configuration() -> None:
    loaded = config.load(None, {"REGISTRY_STORAGE_MAINTENANCE_FSCK_ENABLED": "true"})
    assert loaded.storage.fsck_interval == 24 * 3600.0
    assert loaded.storage.fsck_quarantine is False
    assert config.load(None, {}).storage.fsck_interval is None
    with pytest.raises(InvalidArgument, match=r"storage\.maintenance\.fsck\.interval"):
        config.load(
            None,
            {
                "REGISTRY_STORAGE_MAINTENANCE_FSCK_ENABLED": "true",
                "REGISTRY_STORAGE_MAINTENANCE_FSCK_INTERVAL": "daily",
            },
        )
