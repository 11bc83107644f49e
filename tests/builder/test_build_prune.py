"""``dockyard builder prune``: dangling vs all build cache, the bytes it frees, rebuilds after
it and after the store's gc, its prompt, flags and output, and a prune during a build."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from _infra import dockyard_executable, run_dockyard

#: the builder stage writes 300 kB that do not compress; only its /built reaches the image
MULTISTAGE = """\
FROM busybox:test AS builder
RUN head -c 300000 /dev/urandom > /noise && echo built > /built
RUN true
FROM busybox:test
COPY --from=builder /built /built
RUN --mount=type=cache,target=/var/cache/app echo x > /var/cache/app/x && cp /built /copy
CMD ["cat", "/copy"]
"""

SINGLE = """\
FROM busybox:test
RUN echo one > /one
COPY app.txt /app.txt
RUN wc -c /app.txt > /size
"""


def _ctx(tmp: Path, dockerfile: str, name: str = "ctx") -> Path:
    ctx = tmp / name
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    (ctx / "app.txt").write_text("app\n")
    return ctx


def _build(root: Path, ctx: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    """(image ID, plain progress) of ``dockyard build -t app:1 CTX``."""
    iid = ctx.parent / f"{ctx.name}.iid"
    done = run_dockyard(
        "build", "--progress", "plain", "--iidfile", iid, "-t", "app:1", *args, ctx,
        root=root, env=env,
    )  # fmt: skip
    return iid.read_text().strip(), done.stderr


def _status(log: str) -> list[str]:
    """DONE or CACHED of every layer step, in order."""
    names = dict(re.findall(r"^#(\d+) (\[(?:[\w-]+ )?\d+/\d+\] .*)$", log, re.M))
    status = dict(re.findall(r"^#(\d+) (DONE|CACHED)", log, re.M))
    return [status[n] for n in sorted(names, key=int) if " FROM " not in names[n]]


def _prune(root: Path, *args: str) -> dict[str, Any]:
    done = run_dockyard("builder", "prune", "-f", "--format", "json", *args, root=root)
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _snapshots(root: Path) -> set[str]:
    """Chain IDs of the snapshots in the store."""
    base = root / "build" / "snapshots"
    return {
        json.loads((d / "meta.json").read_text())["key"]
        for d in base.iterdir()
        if d.name != "scratch"
    }


def _records(root: Path) -> dict[str, str]:
    db = sqlite3.connect(root / "build" / "cache.db")
    try:
        return dict(db.execute("SELECT key, value FROM build_cache").fetchall())
    finally:
        db.close()


def _layers(records: dict[str, str]) -> set[str]:
    out = set()
    for value in records.values():
        if value.startswith("{") and json.loads(value)["digest"]:
            out.add(json.loads(value)["digest"])
    return out


def _by_diff_id(records: dict[str, str]) -> dict[str, str]:
    """diff ID → blob digest of the records' layers."""
    layers = [json.loads(v) for v in records.values() if v.startswith("{")]
    return {layer["diff_id"]: layer["digest"] for layer in layers if layer["digest"]}


def _blob(root: Path, digest: str) -> Path:
    return root / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _image_chains(root: Path, ref: str) -> set[str]:
    """Chain IDs of ``ref``'s root filesystem and each lower part of it."""
    import hashlib

    layers = json.loads(run_dockyard("inspect", ref, root=root).stdout)[0]["RootFS"]["Layers"]
    chains, key = set(), ""
    for diff_id in layers:
        key = (
            diff_id
            if not key
            else "sha256:" + hashlib.sha256(f"{key} {diff_id}".encode()).hexdigest()
        )
        chains.add(key)
    return chains


@pytest.mark.slow
def test_default_prune_removes_dangling_cache_and_reclaims_its_bytes(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, MULTISTAGE)
    first, _ = _build(dockyard_root, ctx)
    kept = _image_chains(dockyard_root, "app:1") | _image_chains(dockyard_root, dy_busybox)
    before = _snapshots(dockyard_root)
    assert kept < before  # the builder stage's snapshots are in no image
    in_image = set(
        json.loads(run_dockyard("inspect", "app:1", root=dockyard_root).stdout)[0]["RootFS"][
            "Layers"
        ]
    )
    builder_layers = {
        d for diff_id, d in _by_diff_id(_records(dockyard_root)).items() if diff_id not in in_image
    }
    assert (dockyard_root / "build" / "cache").is_dir()

    report = _prune(dockyard_root)
    assert not report["Busy"]
    assert _snapshots(dockyard_root) == kept
    types = {c["Type"] for c in report["Caches"]}
    assert {"snapshot", "regular", "exec.cachemount"} <= types
    assert report["SpaceReclaimed"] >= 600_000  # the noise, as a snapshot and as a layer blob
    # with the blobs the closing gc frees that no record names (the empty step's empty layer)
    assert report["SpaceReclaimed"] >= sum(c["Size"] for c in report["Caches"])
    assert not any((dockyard_root / "build" / "cache").iterdir())
    remaining = _layers(_records(dockyard_root))
    assert all(_blob(dockyard_root, d).is_file() for d in remaining)
    assert builder_layers and not any(_blob(dockyard_root, d).exists() for d in builder_layers)

    # a rebuild runs the builder's layer step again (its empty step's record is kept) and
    # takes the final stage from what was kept
    again, log = _build(dockyard_root, ctx)
    assert _status(log) == ["DONE", "CACHED", "CACHED", "CACHED"]
    assert again == first

    # text output, as docker prints it
    out = run_dockyard("builder", "prune", "-f", root=dockyard_root).stdout
    assert re.fullmatch(
        r"Deleted build cache objects:\n([0-9a-f]{25}\n)+\nTotal reclaimed space: [\d.]+[kM]B\n",
        out,
    ), out
    out = run_dockyard("builder", "prune", "-f", root=dockyard_root).stdout
    assert out == "Total reclaimed space: 0B\n"


@pytest.mark.slow
def test_prune_all_removes_everything_and_the_rebuild_is_not_cached(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, SINGLE)
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    first, _ = _build(dockyard_root, ctx, env=epoch)
    assert _build(dockyard_root, ctx, env=epoch)[0] == first  # all cached: a no-op record
    assert any((dockyard_root / "build" / "noop").iterdir())
    assert _prune(dockyard_root)["CachesDeleted"]  # the no-op record is dangling
    assert _snapshots(dockyard_root)  # the image's root filesystem stays

    report = _prune(dockyard_root, "--all")
    types = {c["Type"] for c in report["Caches"]}
    assert {"snapshot", "regular", "source.local"} <= types
    assert _snapshots(dockyard_root) == set()
    assert (dockyard_root / "build" / "snapshots" / "scratch" / "fs").is_dir()
    assert _records(dockyard_root) == {}
    checksums = sqlite3.connect(dockyard_root / "build" / "checksums.db")
    assert checksums.execute("SELECT count(*) FROM file_index").fetchone() == (0,)
    checksums.close()
    assert not any((dockyard_root / "build" / "noop").iterdir())
    assert not (dockyard_root / "build" / "trash").exists()

    again, log = _build(dockyard_root, ctx, env=epoch)
    assert _status(log) == ["DONE", "DONE", "DONE"]
    assert again == first  # the same image, reproducibly


@pytest.mark.slow
def test_store_gc_turns_records_into_misses_and_prune_drops_them(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, SINGLE)
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    first, _ = _build(dockyard_root, ctx, env=epoch)
    layers = _layers(_records(dockyard_root))
    run_dockyard("rmi", "app:1", root=dockyard_root)  # the store's gc frees the image's layers
    assert not any(_blob(dockyard_root, d).exists() for d in layers)

    # a record whose layer is gone is never trusted: the rebuild runs every step again
    again, log = _build(dockyard_root, ctx, env=epoch)
    assert _status(log) == ["DONE", "DONE", "DONE"]
    assert again == first
    assert all(_blob(dockyard_root, d).is_file() for d in _layers(_records(dockyard_root)))

    run_dockyard("image", "prune", "-a", "-f", root=dockyard_root)  # as `system prune -a` would
    stale = {
        key for key, value in _records(dockyard_root).items()
        if value.startswith("{") and json.loads(value)["digest"]
    }  # fmt: skip
    report = _prune(dockyard_root)
    assert {k.removeprefix("sha256:")[:25] for k in stale} <= set(report["CachesDeleted"])
    assert all(_blob(dockyard_root, d).is_file() for d in _layers(_records(dockyard_root)))


@pytest.mark.slow
def test_prune_asks_first_and_refuses_without_an_answer(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, MULTISTAGE)
    _build(dockyard_root, ctx)
    before = _snapshots(dockyard_root)
    done = run_dockyard("builder", "prune", root=dockyard_root, input="", check=False)
    assert done.returncode == 1
    assert done.stdout.startswith(
        "WARNING! This will remove all dangling build cache. Are you sure you want to continue? "
        "[y/N] "
    )
    assert "Error: builder prune has been cancelled" in done.stderr and "-f" in done.stderr
    done = run_dockyard("builder", "prune", "-a", root=dockyard_root, input="n\n", check=False)
    assert done.returncode == 1 and "remove all build cache" in done.stdout
    assert _snapshots(dockyard_root) == before
    done = run_dockyard("builder", "prune", root=dockyard_root, input="y\n")
    assert "Total reclaimed space:" in done.stdout
    assert _snapshots(dockyard_root) < before


@pytest.mark.slow
def test_filters_keep_storage_and_bad_flags(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path, MULTISTAGE)
    _build(dockyard_root, ctx)
    before = _snapshots(dockyard_root)
    # everything was used just now: nothing is older than an hour
    assert _prune(dockyard_root, "-a", "--filter", "until=1h")["CachesDeleted"] == []
    # the cache is far smaller than 1 GiB: nothing needs to go
    assert _prune(dockyard_root, "-a", "--keep-storage", "1GB")["CachesDeleted"] == []
    assert _snapshots(dockyard_root) == before
    # keeping 100 kB removes the least recently used until the rest fits
    report = _prune(dockyard_root, "-a", "--keep-storage", "100k")
    assert report["CachesDeleted"] and _snapshots(dockyard_root) < before

    for args, words in [
        (["--keep-storage", "lots"], "invalid size 'lots'"),
        (["--filter", "label=a"], "invalid filter 'label'"),
        (["--filter", "until"], "expected key=value"),
        (["--filter", "until=soon"], "invalid until value 'soon'"),
        (["--format", "yaml"], "'yaml' is not one of"),
        (["--bogus"], "No such option '--bogus'"),
    ]:
        done = run_dockyard("builder", "prune", "-f", *args, root=dockyard_root, check=False)
        assert done.returncode == 125, (args, done.stderr)
        assert words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


#: a RUN that waits (30 s at most) until the test creates ``go`` in the context
GATED_RUN = """\
FROM busybox:test
RUN --mount=type=bind,target=/ctx,readonly \\
    i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; \\
    test -e /ctx/go && echo done > /done
"""


@pytest.mark.slow
def test_a_prune_during_a_build_leaves_that_build_alone(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    warm = _ctx(tmp_path, MULTISTAGE, "warm")
    _build(dockyard_root, warm)  # cache a prune could take
    before = _snapshots(dockyard_root)
    ctx = _ctx(tmp_path, GATED_RUN)
    build = subprocess.Popen(
        [dockyard_executable(), "build", "--progress", "plain", "-t", "slow:1", str(ctx)],
        env={**os.environ, "DOCKYARD_ROOT": str(dockyard_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        work = dockyard_root / "build" / "work"
        deadline = time.monotonic() + 30
        while not any(work.iterdir()):  # the RUN step's writable snapshot
            assert build.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        done = run_dockyard("builder", "prune", "-a", "-f", "--format", "json", root=dockyard_root)
        report = json.loads(done.stdout)
        assert report["Busy"] and report["CachesDeleted"] == []
        assert "a build is using the build cache" in done.stderr
        assert before <= _snapshots(dockyard_root)
        (ctx / "go").touch()
        _, err = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.wait()
    assert build.returncode == 0, err
    run_dockyard("inspect", "slow:1", root=dockyard_root)
    report = _prune(dockyard_root, "-a")
    assert not report["Busy"] and _snapshots(dockyard_root) == set()


@pytest.mark.slow
def test_while_the_cache_is_in_use_only_records_of_gone_layers_go(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    from dockyard.builder.cache.prune import prune_cache
    from dockyard.builder.cache.records import BuildCache
    from dockyard.local import LocalStore

    _build(dockyard_root, _ctx(tmp_path, SINGLE))
    _build(dockyard_root, _ctx(tmp_path, MULTISTAGE, "multi"))
    run_dockyard("rmi", "app:1", root=dockyard_root)  # the multi-stage image's layers go
    records = _records(dockyard_root)
    gone = {
        key for key, value in records.items()
        if value.startswith("{") and json.loads(value)["digest"]
        and not _blob(dockyard_root, json.loads(value)["digest"]).exists()
    }  # fmt: skip
    assert gone
    before = _snapshots(dockyard_root)
    with LocalStore.open(dockyard_root) as store:
        in_use = BuildCache(dockyard_root / "build" / "cache.db")  # as a running build holds it
        try:
            report = prune_cache(store, all_cache=True)
        finally:
            in_use.close()
        assert report.busy and report.warnings and report.reclaimed == 0
        assert {e.id for e in report.removed} == {k.removeprefix("sha256:")[:25] for k in gone}
        assert set(_records(dockyard_root)) == set(records) - gone
        assert _snapshots(dockyard_root) == before
        assert not prune_cache(store, all_cache=True).busy  # released: now it can
    assert _snapshots(dockyard_root) == set()


def test_size_and_filter_values_read_as_docker_reads_them() -> None:
    from datetime import UTC, datetime, timedelta

    from dockyard.builder.cache.prune_args import parse_prune_filters, parse_storage_size

    sizes = {"512": 512, "100k": 100 << 10, "10GB": 10 << 30, "2 GiB": 2 << 30, "1.5m": 3 << 19}
    assert {text: parse_storage_size(text) for text in sizes} == sizes
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert parse_prune_filters([], now) is None
    assert parse_prune_filters(["until=1h30m"], now) == now - timedelta(minutes=90)
    assert parse_prune_filters(["unused-for=24h"], now) == now - timedelta(hours=24)
    assert parse_prune_filters(["until=1700000000"], now) == datetime.fromtimestamp(1700000000, UTC)
    assert parse_prune_filters(["until=2025-12-31T00:00:00Z"], now) == datetime(
        2025, 12, 31, tzinfo=UTC
    )


def test_choice_goes_least_recently_used_first_and_children_before_parents() -> None:
    from datetime import UTC, datetime, timedelta

    from dockyard.builder.cache._inventory import CacheEntry, Item
    from dockyard.builder.cache.prune import _choose

    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def snap(name: str, age: int, size: int, parent: str | None = None) -> Item:
        entry = CacheEntry(name, "snapshot", size, t0 - timedelta(hours=age), name)
        return Item(entry, f"snapshots/{name}", chain=name, parent=parent)

    def mount(name: str, age: int, size: int) -> Item:
        entry = CacheEntry(name, "exec.cachemount", size, t0 - timedelta(hours=age), name)
        return Item(entry, f"cache/{name}")

    base = snap("base", 30, 100)
    child = snap("child", 20, 10, parent="base")
    grandchild = snap("grandchild", 10, 10, parent="child")
    other = snap("other", 25, 50, parent="base")
    old_mount, new_mount = mount("old", 40, 5), mount("new", 1, 5)
    items = [base, child, grandchild, other, old_mount, new_mount]

    def names(chosen: list[Item]) -> list[str]:
        return [i.entry.id for i in chosen]

    everything = names(_choose(items, set(), None, None))
    assert everything == ["old", "other", "grandchild", "child", "base", "new"]
    # a kept child keeps its parents
    assert names(_choose(items, {id(grandchild)}, None, None)) == ["old", "other", "new"]
    # until: only what was last used before the cut-off
    assert names(_choose(items, set(), t0 - timedelta(hours=22), None)) == ["old", "other"]
    # keep-storage: the oldest go until the rest fits (180 bytes in all)
    assert names(_choose(items, set(), None, 120)) == ["old", "other", "grandchild"]
    assert _choose(items, set(), None, 180) == []


@pytest.mark.slow
@pytest.mark.privileged
def test_leftovers_of_an_interrupted_build_go_even_when_still_mounted(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    _build(dockyard_root, _ctx(tmp_path, SINGLE))
    build = dockyard_root / "build"
    merged = build / "work" / "interrupted" / "merged"
    merged.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(merged)], check=True)  # as root
    try:
        (merged / "file").write_bytes(b"x" * 10000)
        (build / "tmp" / "build-interrupted").mkdir(parents=True)
        report = _prune(dockyard_root)
        described = " ".join(c["Description"] for c in report["Caches"])
        assert "work/interrupted" in described and "tmp/build-interrupted" in described
        assert not (build / "work" / "interrupted").exists()
        assert not any((build / "tmp").iterdir())
        assert str(merged) not in Path("/proc/self/mountinfo").read_text()
    finally:
        subprocess.run(["umount", "-l", str(merged)], check=False, capture_output=True)
