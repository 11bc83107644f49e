"""The build cache: a no-op rebuild is all CACHED with the same image ID; a changed COPY
source rebuilds from that step; build args in scope and --no-cache; SOURCE_DATE_EPOCH."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from _infra import make_busybox_rootfs, run_dockyard

DOCKERFILE = """\
FROM busybox:test
ARG FLAVOUR=plain
RUN echo "base $FLAVOUR" > /base
COPY app/ /app/
RUN wc -c /app/* > /sizes
COPY other.txt /other.txt
CMD ["cat", "/sizes"]
"""


def _ctx(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    for i in range(20):
        (ctx / "app" / f"f{i}.txt").write_text(f"file {i}\n")
    (ctx / "other.txt").write_text("other\n")
    return ctx


def _build(root: Path, ctx: Path, *args: str, env: dict[str, str] | None = None) -> tuple[str, str]:
    iid = ctx.parent / "iid"
    done = run_dockyard(
        "build",
        "--progress",
        "plain",
        "--iidfile",
        str(iid),
        "-t",
        "cached:latest",
        *args,
        str(ctx),
        root=root,
        env=env,
    )
    return iid.read_text().strip(), done.stderr


def _steps(log: str) -> dict[str, str]:
    """Step name → DONE or CACHED from the plain progress."""
    names = dict(re.findall(r"^#(\d+) (\[(?:\w+ )?\d+/\d+\] .*)$", log, re.M))
    status = dict(re.findall(r"^#(\d+) (DONE|CACHED)", log, re.M))
    return {names[n]: status.get(n, "?") for n in names}


def test_noop_rebuild_is_all_cached_with_the_same_id(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    first, log1 = _build(dockyard_root, ctx)
    assert all(s == "DONE" for n, s in _steps(log1).items() if "FROM" not in n)
    second, log2 = _build(dockyard_root, ctx)
    assert second == first
    steps = _steps(log2)
    assert [s for n, s in steps.items() if "FROM" not in n] == ["CACHED"] * 4
    # the index of the worker's checksums: nothing is re-read when nothing changed
    (ctx / "app" / "f3.txt").write_text("changed\n")
    third, log3 = _build(dockyard_root, ctx)
    assert third != first
    status = [s for n, s in _steps(log3).items() if "FROM" not in n]
    assert status == ["CACHED", "DONE", "DONE", "DONE"]  # from the changed COPY on


@pytest.mark.slow
def test_build_args_in_scope_and_no_cache(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    first, _ = _build(dockyard_root, ctx)
    changed, log = _build(dockyard_root, ctx, "--build-arg", "FLAVOUR=spicy")
    assert changed != first
    assert next(s for n, s in _steps(log).items() if "FROM" not in n) == "DONE"
    unused, log = _build(dockyard_root, ctx, "--build-arg", "UNUSED=1")
    assert unused == first  # an ARG no stage declares changes nothing
    _, log = _build(dockyard_root, ctx, "--no-cache")
    assert "CACHED" not in log


def test_cache_survives_the_process_and_follows_the_store(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    _build(dockyard_root, ctx)
    assert (dockyard_root / "build" / "cache.db").is_file()
    _, log = _build(dockyard_root, ctx, "--progress", "json")
    events = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    cached = [e for e in events if e.get("event") == "cached"]
    assert len(cached) == 4
    assert all({"vertex", "name", "duration"} <= set(e) for e in cached)


REPRODUCIBLE = """\
FROM scratch
COPY rootfs/ /
ARG V=1
RUN echo "made $V" > /made && mkdir -p /var/x && touch /var/x/y
WORKDIR /srv
COPY app/ ./
CMD ["cat", "/made"]
"""


@pytest.mark.slow
def test_source_date_epoch_gives_the_same_digest_in_two_stores(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    (ctx / "Dockerfile").write_text(REPRODUCIBLE)
    make_busybox_rootfs(ctx / "rootfs")
    ids = []
    for n in range(2):
        root = tmp_path / f"store{n}"
        if n:  # a later checkout: newer mtimes (clamped to the epoch), same contents
            for p in [ctx / "app", *(ctx / "app").iterdir()]:
                os.utime(p)
        image_id, _ = _build(root, ctx, env={"SOURCE_DATE_EPOCH": "1700000000"})
        config = json.loads(run_dockyard("inspect", image_id, root=root).stdout)[0]
        assert config["Created"].startswith("2023-11-14T22:13:20")
        ids.append(image_id)
        time.sleep(1.1)
    assert ids[0] == ids[1]
    without, _ = _build(tmp_path / "store2", ctx)
    assert without != ids[0]  # without the epoch, build times make it differ
