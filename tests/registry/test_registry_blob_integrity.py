"""Blobs corrupted on disk: small ones are verified when read (quarantined, 404 BLOB_UNKNOWN so
that clients push them again); ``dockyard registry fsck`` finds the rest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from _infra import run_command
from _infra._cli import dockyard_executable
from _infra.registry_server import (
    ASGIClient,
    RegistryProcess,
    blob_path,
    flip_a_byte,
    push_blob,
    push_image,
    sha256,
)
from dockyard.registry import Registry, RegistryApp, fsck
from dockyard.registry.limits import Limits


def _quarantined(root: Path) -> list[Path]:
    where = root / "quarantine"
    return sorted(p for p in where.rglob("*") if p.is_file()) if where.exists() else []


def _fsck(*args: str) -> tuple[int, str, str]:
    result = run_command(
        [str(dockyard_executable()), "registry", "fsck", *args], check=False, timeout=120
    )
    return result.returncode, str(result.stdout), str(result.stderr)


# --- verify on read ---------------------------------------------------------------------------


def test_corrupt_small_blob_is_not_served(registry_server: RegistryProcess) -> None:
    root = registry_server.root
    data = b"a config or small layer " * 400
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", data)
        path = blob_path(root, digest)
        flip_a_byte(path)
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 404, r.status_code
        assert r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"
        # moved aside, never deleted, and the registry no longer claims to have it
        assert not path.exists()
        moved = _quarantined(root)
        assert len(moved) == 1 and moved[0].stat().st_size == len(data)
        assert client.head(f"/v2/app/blobs/{digest}").status_code == 404
        assert "corrupt" in registry_server.log.read_text()
        # a client pushing it again restores it
        assert push_blob(client, "app", data) == digest
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 200 and r.content == data


def test_corrupt_small_blob_range_request(registry_server: RegistryProcess) -> None:
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", bytes(range(256)) * 64)
        flip_a_byte(blob_path(registry_server.root, digest))
        r = client.get(f"/v2/app/blobs/{digest}", headers={"range": "bytes=0-9"})
        assert r.status_code == 404 and r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


def test_intact_blobs_are_served_whole_and_in_ranges(registry_server: RegistryProcess) -> None:
    small = bytes(range(256)) * 1000
    large = os.urandom(Limits().verify_read_bytes + 12345)
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        for data in (small, large):
            digest = push_blob(client, "app", data)
            r = client.get(f"/v2/app/blobs/{digest}")
            assert r.status_code == 200 and r.content == data
            r = client.get(f"/v2/app/blobs/{digest}", headers={"range": "bytes=100-199"})
            assert r.status_code == 206 and r.content == data[100:200]
    assert _quarantined(registry_server.root) == []


@pytest.mark.slow
def test_large_blobs_are_not_hashed_on_the_hot_path(registry_server: RegistryProcess) -> None:
    """Above ``limits.verifyreadbytes`` a blob goes out with sendfile, unhashed (the client
    verifies the digest; fsck finds the damage)."""
    data = os.urandom(Limits().verify_read_bytes + 1)
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        digest = push_blob(client, "app", data)
        flip_a_byte(blob_path(registry_server.root, digest))
        r = client.get(f"/v2/app/blobs/{digest}")
        assert r.status_code == 200 and sha256(r.content) != digest
    code, out, _ = _fsck("--root", str(registry_server.root))
    assert code == 1 and digest in out


def test_the_threshold_is_the_limit(tmp_path: Path) -> None:
    """``limits.verifyreadbytes`` decides which blobs are hashed on GET."""
    data = b"x" * 5000
    for limit, status in ((4999, 200), (5000, 404)):
        registry = Registry.open(tmp_path / str(limit))
        app = RegistryApp(registry, threads=2, limits=Limits(verify_read_bytes=limit))
        try:
            with ASGIClient(app) as client:
                digest = push_blob(client, "app", data)
                flip_a_byte(blob_path(tmp_path / str(limit), digest))
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
    code, out, err = _fsck("--root", str(registry_server.root))
    assert code == 0, out + err
    assert "no problems" in out
    code, out, err = _fsck("--root", str(registry_server.root), "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True and report["blobs_checked"] == 6
    assert report["corrupt"] == [] and report["missing"] == [] and report["dangling"] == []


@pytest.mark.slow
def test_fsck_reports_and_quarantines(registry_server: RegistryProcess) -> None:
    root = registry_server.root
    corrupt, lost, manifest = _populate(registry_server)
    flip_a_byte(blob_path(root, corrupt))
    blob_path(root, lost).unlink()

    code, out, err = _fsck("--root", str(root), "--format", "json")
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
    assert blob_path(root, corrupt).exists()  # a report only: nothing moved

    code, out, err = _fsck("--root", str(root), "--quarantine")
    assert code == 1, out + err
    assert f"corrupt blob {corrupt}" in out and "quarantined" in out
    assert not blob_path(root, corrupt).exists()
    assert len(_quarantined(root)) == 1
    # the links are gone, so the registry says BLOB_UNKNOWN and a client pushes it again
    with httpx.Client(base_url=registry_server.url, timeout=30) as client:
        r = client.head(f"/v2/team/app/blobs/{corrupt}")
        assert r.status_code == 404
    code, out, _ = _fsck("--root", str(root), "--format", "json")
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
    root = tmp_path / "r"
    registry = Registry.open(root)
    try:
        assert fsck(registry).ok
        with ASGIClient(RegistryApp(registry, threads=2)) as client:
            image = push_image(client, "app", "v1")
        flip_a_byte(blob_path(root, sha256(image.config)))
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
