"""A store gc (another process's ``dockyard rmi``) while a build uses layers its cache gave.

A build holds each cached layer through its store lease before relying on it: a gc that comes
first turns the record into a miss (the step runs again), a gc that comes after sees the lease
and keeps the layer. No build runs twice."""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from _infra import dockyard_executable, run_dockyard
from dockyard.builder.solver import BuildOptions, build
from dockyard.builder.solver._lease import LazyLease
from dockyard.digest import Digest
from dockyard.local import LocalStore
from dockyard.reference import Reference

pytestmark = pytest.mark.slow

DOCKERFILE = """\
FROM busybox:test
RUN echo one > /one
COPY app.txt /app.txt
RUN wc -c /app.txt > /size
"""
EPOCH = 1_700_000_000


def _layers(store: LocalStore, name: str) -> list[Digest]:
    manifest = store.resolve(Reference.parse_with_default_tag(name)).digest
    data = json.loads(store.content.read_bytes(manifest))
    return [Digest.parse(layer["digest"]) for layer in data["layers"]]


def test_a_gc_before_the_build_holds_a_cached_layer_makes_the_step_run_again(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "app.txt").write_text("app\n")
    iid = tmp_path / "iid"
    run_dockyard(
        "build", "-q", "--iidfile", iid, "-t", "app:1", ctx,
        root=dockyard_root, env={"SOURCE_DATE_EPOCH": str(EPOCH)},
    )  # fmt: skip
    first = iid.read_text().strip()

    # the timing of the race, made certain: after the cache gave a record and before the
    # build holds its layer, another process removes the only image that has it (its gc
    # frees the layer)
    hold = LazyLease.hold
    raced: list[Digest] = []

    def racing_hold(lease: LazyLease, digest: Digest) -> bool:
        if not raced:
            run_dockyard("rmi", "app:1", root=dockyard_root)
            assert not (dockyard_root / "blobs" / digest.algorithm / digest.hex).exists()
            raced.append(digest)
        return hold(lease, digest)

    monkeypatch.setattr(LazyLease, "hold", racing_hold)
    progress = io.StringIO()
    with LocalStore.open(dockyard_root) as store:
        image = build(
            store,
            BuildOptions(context=ctx, tags=["app:2"], source_date_epoch=EPOCH),
            out=progress,
        )
        assert raced and all(store.content.exists(d) for d in _layers(store, "app:2"))
    log = progress.getvalue()
    assert "CACHED" not in log  # every layer was gone: every step ran again, once
    assert log.count("[internal] load build definition") == 1  # no second attempt
    assert str(image.id) == first  # the same steps, the same image


#: a cached step, then a RUN that waits (30 s at most) until the test creates ``go``
PAUSED = """\
FROM busybox:test
RUN echo one > /one
RUN --mount=type=bind,target=/ctx,readonly \\
    i=0; while [ ! -e /ctx/go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; \\
    test -e /ctx/go && echo done > /done
"""


@pytest.mark.slow
def test_a_gc_while_a_build_is_paused_keeps_the_layers_the_build_took_from_its_cache(
    dy_busybox: str, dockyard_root: Path, tmp_path: Path
) -> None:
    first = tmp_path / "first"
    first.mkdir()
    (first / "Dockerfile").write_text("FROM busybox:test\nRUN echo one > /one\n")
    run_dockyard("build", "-q", "-t", "app:1", first, root=dockyard_root)
    with LocalStore.open(dockyard_root) as store:
        cached = _layers(store, "app:1")[-1]  # only app:1 has it
    # older than any lease the next build takes (the gc also keeps blobs written meanwhile)
    blob = dockyard_root / "blobs" / cached.algorithm / cached.hex
    old = time.time() - 3600
    os.utime(blob, (old, old))

    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(PAUSED)
    paused = subprocess.Popen(
        [dockyard_executable(), "build", "--progress", "plain", "-t", "app:2", str(ctx)],
        env={**os.environ, "DOCKYARD_ROOT": str(dockyard_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        work = dockyard_root / "build" / "work"
        deadline = time.monotonic() + 30
        while not (work.is_dir() and any(work.iterdir())):  # the gated RUN step is running
            assert paused.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        run_dockyard("rmi", "app:1", root=dockyard_root)  # its gc would free the layer
        assert blob.is_file(), "the store's gc took a layer a running build holds"
    finally:
        (ctx / "go").touch()  # the build ends by itself (a killed one leaves its mounts)
        try:
            _, err = paused.communicate(timeout=60)
        finally:
            if paused.poll() is None:
                paused.kill()
                paused.wait()
    assert paused.returncode == 0, err
    assert "#3 [2/3] RUN echo one > /one\n#3 CACHED" in err
    with LocalStore.open(dockyard_root) as store:
        layers = _layers(store, "app:2")
        assert cached in layers and all(store.content.exists(d) for d in layers)
