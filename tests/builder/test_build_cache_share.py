"""--cache-to / --cache-from: a build's cache exported to a real registry (dockyard's and
distribution 2.8.2) or an OCI layout, and used by a build in a fresh store: every step CACHED
and the same image ID (the RUN steps write the time, so running them again could not give the
same ID); a changed file rebuilds from its step on, fetching only the layers that hit; a
cache that does not exist is a warning."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import RunningRegistry, docker_registry, dockyard_registry, run_dockyard
from dockyard.builder.cache.spec import CacheSpec, parse_cache_spec
from dockyard.errors import InvalidArgument, Unsupported
from dockyard.local import LocalStore
from dockyard.reference import Reference

DOCKERFILE = """\
FROM busybox:test
RUN date +%s%N > /stamp
COPY app/ /app/
RUN cat /app/* > /all && date +%s%N >> /all
COPY other.txt /other.txt
WORKDIR /srv
CMD ["cat", "/all"]
"""


def _ctx(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    for i in range(5):
        (ctx / "app" / f"f{i}.txt").write_text(f"file {i}\n")
    (ctx / "other.txt").write_text("other\n")
    return ctx


@pytest.fixture(scope="module")
def busybox_archive(busybox_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One busybox image (one ID) for every store, as a docker-archive."""
    work = tmp_path_factory.mktemp("busybox-archive")
    run_dockyard("import", busybox_tar, "busybox:test", root=work / "root")
    run_dockyard("save", "-o", work / "busybox.tar", "busybox:test", root=work / "root")
    return work / "busybox.tar"


def _store(tmp: Path, name: str, archive: Path) -> Path:
    root = tmp / name
    run_dockyard("load", "-i", archive, root=root)
    return root


def _build(root: Path, ctx: Path, *args: str) -> tuple[str, list[dict[str, object]]]:
    iid = root / "iid"
    done = run_dockyard(
        "build", "--progress", "json", "--iidfile", str(iid), "-t", "app:1", *args, str(ctx),
        root=root,
    )  # fmt: skip
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return iid.read_text().strip(), events


def _named_steps(events: list[dict[str, object]]) -> dict[str, str]:
    """Step name → its ending (done/cached), for every numbered step after FROM."""
    names = {e["vertex"]: str(e["name"]) for e in events if e.get("event") == "start"}
    ends = {e["vertex"]: str(e["event"]) for e in events if e.get("event") in ("done", "cached")}
    return {
        n: ends.get(v, "?")
        for v, n in names.items()
        if re.match(r"\[(\S+ )?\d+/\d+\]", n) and "FROM" not in n
    }


def _steps(events: list[dict[str, object]]) -> list[str]:
    """The endings of the steps of a one-stage build, in order."""
    return list(_named_steps(events).values())


def _logs(events: list[dict[str, object]]) -> str:
    return "\n".join(str(e.get("line") or e.get("text") or "") for e in events)


@pytest.fixture(params=["dockyard", "distribution"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningRegistry]:
    serve = dockyard_registry if request.param == "dockyard" else docker_registry
    with serve(tmp_path / "registry") as running:
        yield running


@pytest.mark.slow
def test_registry_cache_gives_a_fresh_store_every_step_cached_and_the_same_id(
    registry: RunningRegistry, busybox_archive: Path, tmp_path: Path
) -> None:
    ctx = _ctx(tmp_path)
    ref = f"{registry.host}/cache/app:buildcache"
    a = _store(tmp_path, "a", busybox_archive)
    first, events = _build(a, ctx, "--cache-to", f"type=registry,ref={ref},mode=max")
    assert _steps(events) == ["done"] * 5
    assert "writing cache manifest" in _logs(events)

    b = _store(tmp_path, "b", busybox_archive)
    second, events = _build(b, ctx, "--cache-from", f"type=registry,ref={ref}")
    assert _steps(events) == ["cached"] * 5  # no RUN ran: their output holds the time
    assert second == first
    # the image is complete in the new store: its layers were fetched, its files are there
    out = tmp_path / "fs"
    run_dockyard("build", "-q", "--cache-from", ref, "-o", f"type=local,dest={out}", ctx, root=b)
    assert (out / "all").read_text().startswith("file 0\nfile 1\n")

    # a changed file: the steps before it come from the cache, the rest run; only the layers
    # of the steps that hit are downloaded
    (ctx / "app" / "f3.txt").write_text("changed\n")
    c = _store(tmp_path, "c", busybox_archive)
    third, events = _build(c, ctx, "--cache-from", ref)
    assert _steps(events) == ["cached", "done", "done", "done", "done"]
    assert third != first
    store = LocalStore(a)
    try:
        raw = store.content.read_bytes(store.resolve(Reference.parse("app:1")).digest)
    finally:
        store.close()
    old_layers = [layer["digest"] for layer in json.loads(raw)["layers"]]
    blobs = {p.name for p in (c / "blobs" / "sha256").iterdir()}
    assert old_layers[1].removeprefix("sha256:") in blobs  # RUN date > /stamp: a hit
    assert old_layers[2].removeprefix("sha256:") not in blobs  # the old COPY app/: a miss


@pytest.mark.slow
def test_a_missing_cache_is_a_warning_and_the_build_goes_on(
    busybox_archive: Path, tmp_path: Path
) -> None:
    with dockyard_registry(tmp_path / "registry") as registry:
        root = _store(tmp_path, "a", busybox_archive)
        ref = f"{registry.host}/nothing/here:cache"
        _, events = _build(root, _ctx(tmp_path), "--cache-from", f"type=registry,ref={ref}")
    assert _steps(events) == ["done"] * 5
    assert re.search(rf"WARNING: .*{re.escape(ref)}", _logs(events))


@pytest.mark.slow
def test_local_cache_layout_min_mode_round_trip(busybox_archive: Path, tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    (ctx / "Dockerfile").write_text(
        "FROM busybox:test AS tool\nRUN date +%s%N > /tool\n"
        "FROM busybox:test\nCOPY --from=tool /tool /tool\n" + DOCKERFILE.split("\n", 1)[1]
    )
    cache = tmp_path / "cache"
    a = _store(tmp_path, "a", busybox_archive)
    first, _ = _build(a, ctx, "--cache-to", f"type=local,dest={cache}")
    index = json.loads((cache / "index.json").read_text())
    assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "latest"
    manifest_digest = index["manifests"][0]["digest"].removeprefix("sha256:")
    manifest = json.loads((cache / "blobs" / "sha256" / manifest_digest).read_text())
    assert manifest["config"]["mediaType"] == "application/vnd.buildkit.cacheconfig.v0"

    b = _store(tmp_path, "b", busybox_archive)
    second, events = _build(b, ctx, "--cache-from", f"type=local,src={cache}")
    # mode=min leaves out the tool stage's records: its RUN runs again; the target's steps
    # (COPY --from keyed by the tool stage's inputs) all hit, so the image is the same
    steps = _named_steps(events)
    assert [s for n, s in steps.items() if n.startswith("[tool ")] == ["done"]
    assert {s for n, s in steps.items() if not n.startswith("[tool ")} == {"cached"}
    assert second == first
    c = _store(tmp_path, "c", busybox_archive)
    _build(a, ctx, "--cache-to", f"type=local,dest={cache},mode=max")
    third, events = _build(c, ctx, "--cache-from", f"type=local,src={cache}")
    assert set(_named_steps(events).values()) == {"cached"}  # max: the tool stage's too
    assert third == first


def test_cache_specs_parse_buildkit_spelling() -> None:
    assert parse_cache_spec("reg.example/app:cache", export=False) == CacheSpec(
        "registry", ref="reg.example/app:cache"
    )
    spec = parse_cache_spec("type=registry,ref=r/a:c,mode=max,oci-mediatypes=true", export=True)
    assert (spec.ref, spec.mode) == ("r/a:c", "max")
    local = parse_cache_spec("type=local,dest=out,tag=v1,ignore-error=true", export=True)
    assert (local.path, local.tag, local.ignore_error) == (Path("out"), "v1", True)
    assert parse_cache_spec("type=local,src=in", export=False).path == Path("in")
    with pytest.raises(InvalidArgument, match="src=DIRECTORY"):
        parse_cache_spec("type=local,dest=out", export=False)
    with pytest.raises(InvalidArgument, match="mode"):
        parse_cache_spec("type=registry,ref=r/a,mode=all", export=True)
    with pytest.raises(InvalidArgument, match="ref="):
        parse_cache_spec("type=registry", export=True)
    with pytest.raises(Unsupported, match="inline"):
        parse_cache_spec("type=inline", export=True)
    with pytest.raises(InvalidArgument, match="bogus"):
        parse_cache_spec("type=registry,ref=r/a,bogus=1", export=True)
