"""The no-op record: an invocation whose last run took every step from the cache is answered
at start-up (``dockyard.builder.cache.noop.serve``), and any change to what the build reads is a miss
that leaves the decision to the full build."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _infra import run_dockyard
from dockyard.builder.cache import noop

DOCKERFILE = """\
FROM busybox:test
ARG FLAVOUR=plain
RUN echo "base $FLAVOUR" > /base
COPY app/ /app/
CMD ["cat", "/base"]
"""


@pytest.fixture
def ctx(tmp_path: Path, dy_busybox: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "app").mkdir(parents=True)
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / ".dockerignore").write_text("*.tmp\n")
    for i in range(5):
        (ctx / "app" / f"f{i}.txt").write_text(f"file {i}\n")
    monkeypatch.chdir(tmp_path)
    return ctx


ARGS = ["build", "--progress", "plain", "--iidfile", "iid", "-t", "app:1", "ctx"]


def _full(root: Path, *args: str) -> str:
    """A full build (the command line, in its own process); returns the image ID."""
    run_dockyard(*(args or ARGS), root=root)
    return Path("iid").read_text().strip()


def _fast(*args: str) -> int | None:
    return noop.serve(list(args or ARGS))


def _recorded(root: Path) -> str:
    """Build twice (the second, all cached, leaves the record); returns the image ID."""
    first = _full(root)
    assert _fast() is None  # the first run ran steps: no record
    assert _full(root) == first
    return first


def test_a_repeated_invocation_is_answered_from_the_record(
    ctx: Path, dockyard_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = _recorded(dockyard_root)
    Path("iid").unlink()
    capsys.readouterr()
    assert _fast() == 0
    assert Path("iid").read_text() == image  # --iidfile written as asked
    err = capsys.readouterr().err
    assert err.count("CACHED") == 2 and "naming to docker.io/library/app:1" in err
    quiet = ["build", "-q", "-t", "app:1", "ctx"]
    _full(dockyard_root, *quiet, "--iidfile", "iid")  # another invocation: its own record
    assert _fast(*quiet) is None
    run_dockyard(*quiet, root=dockyard_root)
    capsys.readouterr()
    assert _fast(*quiet) == 0
    assert capsys.readouterr().out == image + "\n"


@pytest.mark.slow
def test_a_record_is_made_only_for_what_a_replay_answers_as_the_build_would(
    ctx: Path, dockyard_root: Path
) -> None:
    """The build decides, from the options click read, whether it leaves a record: not when
    a value comes from the environment, an output goes elsewhere than the store, or --debug
    logs (a replay would not)."""
    for args in (
        ["build", "--progress", "plain", "--build-arg", "FLAVOUR", "-t", "app:1", "ctx"],
        ["build", "--progress", "plain", "--debug", "-t", "app:1", "ctx"],
        ["build", "--progress", "plain", "-o", "type=local,dest=out", "ctx"],
        ["build", "--no-cache", "--progress", "plain", "-t", "app:1", "ctx"],
    ):
        for _ in range(2):  # the second run takes every step from the cache (but --no-cache)
            run_dockyard(*args, root=dockyard_root, env={"FLAVOUR": "plain"})
        assert _fast(*args) is None, args
    assert not list((dockyard_root / "build" / "noop").glob("*"))


@pytest.mark.slow
def test_the_key_is_the_command_line_as_typed(ctx: Path, dockyard_root: Path) -> None:
    """Nothing is parsed before click: ``--root R build`` is found, and the same build spelled
    another way is another invocation, with its own record."""
    spelled = ["--root", str(dockyard_root), "build", "--progress=plain", "--tag", "app:1", "ctx"]
    run_dockyard(*spelled, root=dockyard_root)
    run_dockyard(*spelled, root=dockyard_root)
    assert _fast(*spelled) == 0
    assert _fast("build", "--progress", "plain", "--tag", "app:1", "ctx") is None
    assert _fast(*spelled[2:]) is None  # the default root is this store, but not the words
    assert _fast(f"--root={dockyard_root}", *spelled[2:]) is None


def test_the_store_is_found_in_the_command_line_or_the_environment() -> None:
    env = {"DOCKYARD_ROOT": "/srv/store", "HOME": "/home/u"}
    assert noop.store_of(["build", "."], env) == "/srv/store"
    assert noop.store_of(["--root", "/r", "build", "."], env) == "/r"
    assert noop.store_of(["--root=/r", "build", "-t", "x", "."], env) == "/r"
    assert noop.store_of(["build", "."], {"HOME": "/home/u"}) == "/home/u/.local/share/dockyard"
    assert noop.store_of(["build", "."], {"XDG_DATA_HOME": "/x", "HOME": "/h"}) == "/x/dockyard"
    for other in (["images"], ["--root", "", "build", "."], ["-v", "build"], ["--root", "/r"]):
        assert noop.store_of(other, env) is None, other


@pytest.mark.slow
def test_changed_dockerfile_ignore_file_or_context_entry_misses(
    ctx: Path, dockyard_root: Path
) -> None:
    image = _recorded(dockyard_root)
    (ctx / "Dockerfile").write_text(DOCKERFILE + "# a comment\n")
    assert _fast() is None
    assert _full(dockyard_root) == image  # a comment changes no step
    assert _full(dockyard_root) == image
    assert _fast() == 0
    (ctx / ".dockerignore").write_text("*.tmp\n*.bak\n")
    assert _fast() is None
    _full(dockyard_root)
    _full(dockyard_root)
    assert _fast() == 0
    # same size, same mtime: still a miss (ctime and the hash of the stat line change)
    f = ctx / "app" / "f2.txt"
    st = f.stat()
    f.write_text("FILE 2\n")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _fast() is None
    changed = _full(dockyard_root)
    assert changed != image
    (ctx / "app" / "new.txt").write_text("new\n")
    assert _fast() is None
    (ctx / "app" / "new.txt").unlink()
    (ctx / "app" / "sub").mkdir()
    assert _fast() is None


@pytest.mark.slow
def test_changed_build_arg_or_dockerfile_path_is_another_invocation(
    ctx: Path, dockyard_root: Path
) -> None:
    image = _recorded(dockyard_root)
    with_arg = [*ARGS[:-1], "--build-arg", "FLAVOUR=spicy", "ctx"]
    assert _fast(*with_arg) is None
    spicy = _full(dockyard_root, *with_arg)
    _full(dockyard_root, *with_arg)
    assert _fast(*with_arg) == 0
    assert Path("iid").read_text() == spicy
    assert spicy != image
    # the first invocation's record is its own; app:1 now names the spicy image: a miss
    assert _fast() is None
    other = ctx / "Other.Dockerfile"
    other.write_text(DOCKERFILE)
    assert _fast(*ARGS[:-1], "-f", str(other), "ctx") is None


@pytest.mark.slow
def test_changed_base_tag_or_image_misses(
    ctx: Path, dockyard_root: Path, busybox_tar: Path, tmp_path: Path
) -> None:
    image = _recorded(dockyard_root)
    assert _fast() == 0
    # the -t name moved to another image: the build must name it again
    run_dockyard("tag", "busybox:test", "app:1", root=dockyard_root)
    assert _fast() is None
    assert _full(dockyard_root) == image
    _full(dockyard_root)
    assert _fast() == 0
    # the base name now means another image (a new import: another ID)
    run_dockyard("import", busybox_tar, "busybox:test", root=dockyard_root)
    assert _fast() is None
    rebased = _full(dockyard_root)
    assert rebased != image
    _full(dockyard_root)
    assert _fast() == 0
    # the image removed
    run_dockyard("rmi", "app:1", root=dockyard_root)
    assert _fast() is None
    assert _full(dockyard_root).startswith("sha256:")  # built again (rmi freed its layers)


@pytest.mark.slow
def test_an_iidfile_in_a_missing_directory_is_a_clear_error_before_building(
    ctx: Path, dockyard_root: Path
) -> None:
    args = ["build", "--progress", "plain", "--iidfile", "out/iid", "-t", "app:1", "ctx"]
    Path("out").mkdir()
    run_dockyard(*args, root=dockyard_root)
    run_dockyard(*args, root=dockyard_root)  # all cached: leaves the record
    Path("out/iid").unlink()
    Path("out").rmdir()
    assert _fast(*args) is None  # the record cannot write it: the full build decides
    failed = run_dockyard(*args, root=dockyard_root, check=False)
    assert failed.returncode == 1
    assert "cannot write --iidfile out/iid: directory" in failed.stderr
    assert "does not exist" in failed.stderr and "#1 " not in failed.stderr  # nothing built


@pytest.mark.slow
def test_a_build_answered_by_its_record_counts_as_a_use_of_the_cache(
    ctx: Path, dockyard_root: Path
) -> None:
    """The record stands for the cache records its build read: a hit touches it (once a minute
    at most) and builder prune --filter until= takes that as their last use."""
    import json
    import sqlite3
    import time

    _recorded(dockyard_root)
    build = dockyard_root / "build"
    db = sqlite3.connect(build / "cache.db")
    with db:
        db.execute("UPDATE build_cache SET used_at = julianday('now') - 10")  # 10 days ago
    db.close()
    [record] = list((build / "noop").iterdir())
    old = time.time() - 10 * 86400
    os.utime(record, (old, old))

    def stale_steps() -> list[str]:
        done = run_dockyard(
            "builder", "prune", "-a", "-f", "--filter", "until=24h", "--format", "json",
            root=dockyard_root,
        )  # fmt: skip
        return [c["Description"] for c in json.loads(done.stdout)["Caches"]]

    assert _fast() == 0
    assert time.time() - record.stat().st_mtime < 60  # the hit was noted
    assert not [d for d in stale_steps() if d.startswith("step record")]
