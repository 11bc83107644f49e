"""Blobs corrupted on disk: small ones are verified when read (quarantined, 404 BLOB_UNKNOWN so
that clients push them again); ``dockyard registry fsck`` finds the rest."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from _infra import backend, run_command
from _infra._cli import dockyard_executable
from _infra.registry_server import (
    ASGIClient,
    RegistryProcess,
    flip_a_blob_byte,
    push_blob,
    push_image,
    sha256,
)
from dockyard.digest import Digest
from dockyard.registry import RegistryApp, fsck
from dockyard.registry.limits import Limits
from dockyard.registry.storage import StorageDriver, blob_key

# Blobs are corrupted, lost and found through the registry's storage driver (files under the
# root, or objects in the bucket: DOCKYARD_TEST_BACKEND), never by path.


def _key(digest: str) -> str:
    return blob_key(Digest.parse(digest))


def _quarantined(storage: StorageDriver) -> list[int]:
    """The sizes of the blobs moved aside."""
    sizes = []
    for key in sorted(storage.list("quarantine")):
        info = storage.stat(key)
        assert info is not None
        sizes.append(info.size)
    return sizes


@pytest.fixture
def storage(registry_server: RegistryProcess) -> Iterator[StorageDriver]:
    """The served registry's blob storage, as a test may reach it from outside."""
    with backend.storage(registry_server.root) as driver:
        yield driver


def _fsck(*args: str, root: Path | None = None) -> tuple[int, str, str]:
    """``dockyard registry fsck ARGS`` (on the registry at ``root``, on its backend)."""
    where = ["--root", str(root)] if root is not None else []
    env = backend.serve_env(root, {}) if root is not None else {}
    result = run_command(
        [str(dockyard_executable()), "registry", "fsck", *where, *args],
        check=False,
        timeout=120,
        env={**os.environ, **env},
    )
    return result.returncode, str(result.stdout), str(result.stderr)


# --- verify on read ---------------------------------------------------------------------------


def test_corrupt_small_blob_is_not_served(
    registry_server: RegistryProcess, storage: StorageDriver
) -> None:
    data = b"a config or small layer " * 400
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", data)
        flip_a_blob_byte(storage, digest)
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 404, r.status_code
        assert r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
        # moved aside, never deleted, and the registry no longer claims to have it
        assert storage.stat(_key(digest)) is None
        assert _quarantined(storage) == [len(data)]
        assert client.head(f"/v2/app/blobs/{digest}").status_code == 404
        assert "corrupt" in registry_server.log.read_text()
        # a client pushing it again restores it
        assert push_blob(client, "app", data) == digest
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 200 and r.content == data


def test_corrupt_small_blob_range_request(
    registry_server: RegistryProcess, storage: StorageDriver
) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", bytes(range(256)) * 64)
        flip_a_blob_byte(storage, digest)
        r = client.get(f"/v2/app/blobs/{digest}", headers={"range": "bytes=0-9"})
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_intact_blobs_are_served_whole_and_in_ranges(
    registry_server: RegistryProcess, storage: StorageDriver
) -> None:
    small = bytes(range(256)) * 1000
    large = os.urandom(Limits().verify_read_bytes + 12345)
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        for data in (small, large):
            digest = push_blob(client, "app", data)
            r = client.get(f"/v2/app/blobs/{digest}")
            assert r.status_code == 200 and r.content == data
            r = client.get(f"/v2/app/blobs/{digest}", headers={"range": "bytes=100-199"})
            assert r.status_code == 206 and r.content == data[100:200]
    assert _quarantined(storage) == []


@pytest.mark.slow
def test_large_blobs_are_not_hashed_on_the_hot_path(
    registry_server: RegistryProcess, storage: StorageDriver
) -> None:
    """Above ``limits.verifyreadbytes`` a blob goes out with sendfile, unhashed (the client
    verifies the digest; fsck finds the damage)."""
    data = os.urandom(Limits().verify_read_bytes + 1)
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", data)
        flip_a_blob_byte(storage, digest)
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 200 and sha256(r.content) != digest
    code, out, _ = _fsck(root=registry_server.root)
    assert code == 1 and digest in out


def test_the_threshold_is_the_limit(tmp_path: Path) -> None:
    """``limits.verifyreadbytes`` decides which blobs are hashed on GET."""
    data = b"x" * 5000
    for limit, status in ((4999, 200), (5000, 404)):
        registry = backend.open_registry(tmp_path / str(limit))
        app = RegistryApp(registry, threads=2, limits=Limits(verify_read_bytes=limit))
        try:
            with ASGIClient(app) as client:
                digest = push_blob(client, "app", data)
                flip_a_blob_byte(registry.storage, digest)
                assert client.get(f"/v2/app/blobs/{digest}").status_code == status, limit
        finally:
            registry.close()


# --- fsck -------------------------------------------------------------------------------------


def _populate(server: RegistryProcess) -> tuple[str, str, str]:
    """Two images; the digests of a layer to corrupt, a layer to lose, and the manifest."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        push_image(client, "team/app", "v1", seed="a")
        image = push_image(client, "team/other", "v1", seed="b")
        r = client.post(
            "/v2/team/app/blobs/uploads/",
            params={"mount": sha256(image.layers[0]), "from": "team/other"},
        )
        assert r.status_code == 201, r.text
    return sha256(image.layers[0]), sha256(image.layers[1]), image.digest


@pytest.mark.slow
def test_fsck_clean_registry(registry_server: RegistryProcess) -> None:
    _populate(registry_server)
    code, out, err = _fsck(root=registry_server.root)
    assert code == 0, out + err
    assert "no problems" in out
    code, out, err = _fsck("--format", "json", root=registry_server.root)
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True and report["blobs_checked"] == 6
    assert report["corrupt"] == [] and report["missing"] == [] and report["dangling"] == []


@pytest.mark.slow
def test_fsck_reports_and_quarantines(
    registry_server: RegistryProcess, storage: StorageDriver
) -> None:
    root = registry_server.root
    corrupt, lost, manifest = _populate(registry_server)
    flip_a_blob_byte(storage, corrupt)
    storage.delete(_key(lost))

    code, out, err = _fsck("--format", "json", root=root)
    assert code == 1, out + err
    report = json.loads(out)
    assert report["ok"] is False
    assert [c["digest"] for c in report["corrupt"]] == [corrupt]
    assert report["corrupt"][0]["actual"] != corrupt
    assert sorted(c["repositories"] for c in report["corrupt"]) == [["team/app", "team/other"]]
    assert {(m["repository"], m["manifest"], m["digest"]) for m in report["missing"]} == {
        ("team/other", manifest, lost)
    }
    assert {(d["repository"], d["digest"]) for d in report["dangling"]} == {("team/other", lost)}
    assert report["quarantined"] == []
    assert storage.stat(_key(corrupt)) is not None  # a report only: nothing moved

    code, out, err = _fsck("--quarantine", root=root)
    assert code == 1, out + err
    assert f"corrupt blob {corrupt}" in out and "quarantined" in out
    assert storage.stat(_key(corrupt)) is None
    assert len(_quarantined(storage)) == 1
    # the links are gone, so the registry says BLOB_UNKNOWN and a client pushes it again
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        r = client.head(f"/v2/team/app/blobs/{corrupt}")
        assert r.status_code == 404
    code, out, _ = _fsck("--format", "json", root=root)
    report = json.loads(out)
    assert code == 1 and report["corrupt"] == []
    assert {m["digest"] for m in report["missing"]} == {corrupt, lost}


class _Recorder:
    """Collects what fsck reports as progress."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.advanced = 0
        self.status = ""

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self.total = total

    def advance(self, key: str, amount: int) -> None:
        self.advanced += amount

    def finish(self, key: str, status: str = "done") -> None:
        self.status = status


def test_fsck_library(tmp_path: Path) -> None:
    registry = backend.open_registry(tmp_path / "r")
    try:
        assert fsck(registry).ok
        with ASGIClient(RegistryApp(registry, threads=2)) as client:
            image = push_image(client, "app", "v1")
        flip_a_blob_byte(registry.storage, sha256(image.config))
        progress = _Recorder()
        report = fsck(registry, quarantine=True, progress=progress)
        assert not report.ok and report.blobs_checked == 3
        assert [c.digest for c in report.corrupt] == [sha256(image.config)]
        assert report.corrupt[0].repositories == ("app",)
        assert len(report.quarantined) == 1 and report.quarantined[0].startswith("quarantine/")
        assert progress.total == progress.advanced == report.bytes_checked > 0
        assert progress.status == "1 corrupt"
        again = fsck(registry)
        assert again.corrupt == [] and again.blobs_checked == 2
        assert [(m.repository, m.digest) for m in again.missing] == [("app", sha256(image.config))]
    finally:
        registry.close()


@pytest.mark.slow
def test_fsck_usage(tmp_path: Path) -> None:
    code, _, err = _fsck("--root", str(tmp_path / "r"), "--format", "yaml")
    assert code == 2, err
    assert "--format" in err
    code, _, err = _fsck("--root", str(tmp_path / "nothing-here"))
    assert code == 2, err
    assert "nothing-here" in err
