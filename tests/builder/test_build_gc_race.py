"""A store gc that takes a layer the cache gave while a build runs (another process's
``dockyard rmi``): the build runs the step again instead of failing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from _infra import run_dockyard
from dockyard.builder import BuildOptions, build
from dockyard.builder.solver import _build as build_module
from dockyard.digest import Digest
from dockyard.local import LocalStore

DOCKERFILE = """\
FROM busybox:test
RUN echo one > /one
COPY app.txt /app.txt
RUN wc -c /app.txt > /size
"""
EPOCH = 1_700_000_000


def test_a_gc_that_takes_a_cached_layer_mid_build_makes_the_step_run_again(
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

    # the timing of the race, made certain: just before this build holds the layers its cache
    # gave, another process removes the only image that has them (its gc frees them)
    keep = build_module._keep_cached_layers
    held: list[list[Digest]] = []

    def racing_gc(store: LocalStore, lease: object, digests: list[Digest]) -> None:
        if not held:
            run_dockyard("rmi", "app:1", root=dockyard_root)
            assert not any(store.content.exists(d) for d in digests)
        held.append(list(digests))
        keep(store, lease, digests)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "_keep_cached_layers", racing_gc)
    progress = io.StringIO()
    with LocalStore.open(dockyard_root) as store:
        image = build(
            store,
            BuildOptions(context=ctx, tags=["app:2"], source_date_epoch=EPOCH),
            out=progress,
        )
        assert all(store.content.exists(d) for d in held[-1])
    assert len(held) == 2  # the second run held what it rebuilt
    assert "a layer from the cache was removed meanwhile" in progress.getvalue()
    assert str(image.id) == first  # the same steps, the same image
