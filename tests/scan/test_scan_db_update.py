"""``dockyard db update`` against a local copy of the feeds (no test touches the internet)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra import run_dockyard
from _infra.scan_feeds import FeedServer, feed_mirror


@pytest.fixture(scope="module")
def mirror_dir(vulndb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return feed_mirror(vulndb, tmp_path_factory.mktemp("feeds"))


@pytest.fixture
def feeds(mirror_dir: Path) -> Iterator[FeedServer]:
    with FeedServer(mirror_dir) as server:
        yield server


def _update(
    root: Path, server: FeedServer, *args: str, eco: str = "PyPI,Go,crates.io", check: bool = True
) -> subprocess.CompletedProcess[Any]:
    return run_dockyard(
        "db",
        "update",
        "--mirror",
        server.url,
        "--ecosystem",
        eco,
        "--alpine",
        "3.11",
        *args,
        root=root,
        check=check,
        timeout=120,
    )


def _status(root: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(
        run_dockyard("db", "status", "--format", "json", root=root).stdout
    )
    return doc


def _downloads(root: Path) -> Path:
    return root / "vulndb" / "downloads"


def test_scan_without_data_says_how_to_get_it(tmp_path: Path) -> None:
    (tmp_path / "rootfs").mkdir()
    out = run_dockyard("scan", f"dir:{tmp_path / 'rootfs'}", root=tmp_path / "s", check=False)
    assert out.returncode == 1
    assert (
        "no vulnerability data: run `dockyard db update` (or `dockyard db import DIR`)"
        in out.stderr
    ), out.stderr


@pytest.mark.slow
def test_db_update_imports_every_feed(feeds: FeedServer, tmp_path: Path, vulndb: Path) -> None:
    root = tmp_path / "store"
    out = _update(root, feeds, "--format", "json")
    summary = json.loads(out.stdout)
    got = {f["name"]: (f["kind"], f["advisories"], f["status"]) for f in summary["feeds"]}
    assert got == {
        "osv-PyPI": ("osv", 258, "downloaded"),
        "osv-Go": ("osv", 273, "downloaded"),
        "osv-crates.io": ("osv", 40, "downloaded"),
        "debian-tracker": ("debian-tracker", 5, "downloaded"),
        "alpine-v3.11-main": ("alpine-secdb", got["alpine-v3.11-main"][1], "downloaded"),
        "alpine-v3.11-community": (
            "alpine-secdb",
            got["alpine-v3.11-community"][1],
            "downloaded",
        ),
    }
    # the same data imported from the fixture files gives the same database
    reference = tmp_path / "reference"
    run_dockyard(
        "db",
        "import",
        *(vulndb / "osv" / eco for eco in ("PyPI", "Go", "crates.io")),
        vulndb / "debian" / "vunnel-fixture-debian-tracker.json",
        vulndb / "alpine" / "secdb-v3.11-main.yaml",
        vulndb / "alpine" / "secdb-v3.11-community.yaml",
        root=reference,
    )
    assert _status(root)["ecosystems"] == _status(reference)["ecosystems"]
    assert _status(root)["ecosystems"]["alpine:3.11"] > 100
    assert {p for p, _, _ in feeds.log} == {
        "/PyPI/all.zip",
        "/Go/all.zip",
        "/crates.io/all.zip",
        "/tracker/data/json",
        "/v3.11/main.json",
        "/v3.11/community.json",
    }
    # a second run asks whether anything changed and re-imports what it has
    feeds.log.clear()
    again = json.loads(_update(root, feeds, "--format", "json").stdout)
    assert {f["status"] for f in again["feeds"]} == {"unchanged"}
    assert {s for _, _, s in feeds.log} == {304}
    assert _status(root)["ecosystems"] == _status(reference)["ecosystems"]


@pytest.mark.slow
def test_db_update_resumes_a_cut_download(feeds: FeedServer, tmp_path: Path) -> None:
    root = tmp_path / "store"
    size = (feeds.root / "PyPI" / "all.zip").stat().st_size
    feeds.behaviour.cut_after["/PyPI/all.zip"] = size // 2
    # crates.io is fetched before PyPI: it downloads fine but is not imported
    first = _update(root, feeds, "--source", "osv", eco="crates.io,PyPI,Go", check=False)
    assert first.returncode == 1
    assert "interrupted" in first.stderr and "dockyard db update" in first.stderr, first.stderr
    assert _status(root)["advisories"] == 0  # nothing imported, not even crates.io
    part = _downloads(root) / "osv-PyPI.part"
    assert part.stat().st_size == size // 2
    feeds.log.clear()
    second = json.loads(_update(root, feeds, "--source", "osv", "--format", "json").stdout)
    pypi = next(f for f in second["feeds"] if f["name"] == "osv-PyPI")
    assert (pypi["status"], pypi["resumed_from"], pypi["bytes"]) == ("resumed", size // 2, size)
    assert ("/PyPI/all.zip", f"bytes={size // 2}-", 206) in feeds.log
    assert not part.exists()
    assert _status(root)["ecosystems"]["pypi"] == 258


def test_db_update_restarts_when_the_file_changed(
    feeds: FeedServer, tmp_path: Path, mirror_dir: Path
) -> None:
    root = tmp_path / "store"
    downloads = _downloads(root)
    downloads.mkdir(parents=True)
    # a part of an older version of the file, validated by an ETag the server no longer has
    (downloads / "osv-Go.part").write_bytes(b"PK\x03\x04 stale bytes")
    (downloads / "osv-Go.part.json").write_text(
        json.dumps({"url": f"{feeds.url}/Go/all.zip", "etag": '"old"', "lastModified": None})
    )
    out = json.loads(_update(root, feeds, "--source", "osv", "--format", "json", eco="Go").stdout)
    assert [(f["status"], f["advisories"]) for f in out["feeds"]] == [("downloaded", 273)]
    assert feeds.log == [("/Go/all.zip", "bytes=16-", 200)]  # If-Range failed: whole file


@pytest.mark.slow
def test_db_update_rejects_a_checksum_mismatch(feeds: FeedServer, tmp_path: Path) -> None:
    root = tmp_path / "store"
    feeds.behaviour.bad_md5.add("/Go/all.zip")
    out = _update(root, feeds, "--source", "osv,debian", check=False)
    assert out.returncode == 1
    assert "/Go/all.zip: the download's MD5" in out.stderr, out.stderr
    assert _status(root)["advisories"] == 0
    assert not (_downloads(root) / "osv-Go").exists()
    assert not (_downloads(root) / "osv-Go.part").exists()


def test_db_update_rejects_an_html_page(feeds: FeedServer, tmp_path: Path) -> None:
    root = tmp_path / "store"
    feeds.behaviour.html.add("/tracker/data/json")
    out = _update(root, feeds, "--source", "debian,osv", check=False)
    assert out.returncode == 1
    assert "sent an HTML page" in out.stderr, out.stderr
    assert _status(root)["advisories"] == 0


def test_db_update_names_a_missing_feed(feeds: FeedServer, tmp_path: Path) -> None:
    out = run_dockyard(
        "db",
        "update",
        "--mirror",
        feeds.url,
        "--source",
        "osv",
        "--ecosystem",
        "NoSuch",
        root=tmp_path / "store",
        check=False,
    )
    assert out.returncode == 1
    assert f"cannot download {feeds.url}/NoSuch/all.zip: HTTP 404" in out.stderr, out.stderr


def test_db_update_help(tmp_path: Path) -> None:
    out = run_dockyard("db", "update", "--help", root=tmp_path)
    for option in ("--source", "--ecosystem", "--mirror", "--format"):
        assert option in out.stdout
