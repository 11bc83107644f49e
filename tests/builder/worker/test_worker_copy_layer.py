"""A COPY's layer written straight from its sources equals the layer of copying into a snapshot
and diffing it (the two ways the builder can take), for every COPY rule."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra.worker_helpers import busybox_snapshot, commit
from dockyard.builder.worker import Snapshot, Worker
from dockyard.builder.worker._copy import CopyRequest, copy_into
from dockyard.builder.worker._copy_layer import Uncovered, write_copy_layer
from dockyard.layers import decompressor
from dockyard.local import LocalStore

Summary = dict[str, tuple[object, ...]]


@pytest.fixture
def overlay_worker(store: LocalStore) -> Iterator[Worker]:
    w = Worker(store, runtime="crun")
    assert w.snapshots.overlay
    yield w
    w.close()


@pytest.fixture
def base(overlay_worker: Worker) -> Snapshot:
    """busybox plus a directory, a symlink to it, a file, and an owned directory."""
    parent = busybox_snapshot(overlay_worker)
    with overlay_worker.snapshots.writable(parent) as work:
        (work.root / "real").mkdir(mode=0o750)
        os.chown(work.root / "real", 7, 8)
        os.symlink("/real", work.root / "link")
        (work.root / "replaced").write_text("a file\n")
        (work.root / "srv" / "www").mkdir(parents=True)
        os.chown(work.root / "srv" / "www", 33, 33)
        return commit(overlay_worker, work, clamp_mtime=1_700_000_000)[1]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "context"
    (root / "src" / "lib").mkdir(parents=True)
    (root / "src" / "main.py").write_text("print(1)\n")
    (root / "src" / "notes.md").write_text("notes\n")
    (root / "src" / "lib" / "util.py").write_text("x = 1\n")
    (root / "src" / "lib" / "README.md").write_text("readme\n")
    os.chmod(root / "src" / "main.py", 0o755)
    os.chmod(root / "src" / "lib", 0o700)
    os.symlink("main.py", root / "src" / "alias")
    os.link(root / "src" / "notes.md", root / "src" / "notes-hard.md")
    os.mkfifo(root / "src" / "pipe")
    os.setxattr(root / "src" / "main.py", "user.origin", b"context")
    os.chown(root / "src" / "notes.md", 1234, 5678)  # context owners become root's
    return root


def _summary(members: dict[str, tarfile.TarInfo], data: dict[str, bytes]) -> Summary:
    out: Summary = {}
    for name, m in members.items():
        content = hashlib.sha256(data[name]).hexdigest() if m.isreg() else ""
        mtime = None if m.isdir() else m.mtime  # directories made while copying get "now"
        out[name.rstrip("/")] = (
            m.type,
            oct(m.mode),
            m.uid,
            m.gid,
            m.linkname,
            m.size,
            content,
            mtime,
            sorted(m.pax_headers.items()),
        )
    return out


def _read(tar_bytes: bytes) -> Summary:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        data = {}
        for name, m in members.items():
            if m.isreg():
                f = tar.extractfile(m)
                assert f is not None
                data[name] = f.read()
    return _summary(members, data)


def _by_copying(worker: Worker, base: Snapshot, context: Path, request: CopyRequest) -> Summary:
    with worker.snapshots.writable(base) as work:
        copy_into(context, work.root, request)
        layer, _ = commit(worker, work)
    with worker.store.content.open(layer.digest) as f, decompressor(f) as plain:
        return _read(plain.read())


def _direct(worker: Worker, base: Snapshot, context: Path, request: CopyRequest) -> Summary:
    out = io.BytesIO()
    with worker.mounted(base) as view:
        write_copy_layer(view, context, request, out)
    return _read(out.getvalue())


REQUESTS = [
    CopyRequest(("src",), "/app"),
    CopyRequest(("src/",), "/etc/"),
    CopyRequest(("src/main.py",), "/usr/local/bin/tool"),
    CopyRequest(("src/main.py", "src/notes.md"), "/multi/"),
    CopyRequest(("src",), "/o/", chown="1000:1000", chmod="a=rX"),
    CopyRequest(("src",), "/named/", chown="root"),
    CopyRequest(("src",), "/e/", excludes=("*.md", "**/*.md")),
    CopyRequest(("src/lib/util.py", "src/main.py"), "/p/", parents=True),
    CopyRequest(("src/./lib/util.py",), "/pivot/", parents=True),
    CopyRequest(("src/*.py", "src/l?b/*.py"), "/g/"),
    CopyRequest(("nothing*",), "/empty/"),
    CopyRequest((".",), "/"),
    CopyRequest(("src",), "/link/sub"),
    CopyRequest(("src/main.py",), "/link/"),
    CopyRequest(("src",), "/link"),
    CopyRequest(("src/main.py",), "/etc"),
    CopyRequest(("src",), "/replaced"),
    CopyRequest(("src/main.py",), "/srv/www/"),
    CopyRequest(("src/main.py",), "rel.py", cwd="/srv"),
    CopyRequest(("src", "src/lib"), "/twice/"),
    CopyRequest(("src/alias",), "/followed"),
    CopyRequest(("src",), "/kept/", preserve_owner=True),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{','.join(r.sources)}->{r.dest}")
def test_direct_layer_equals_copy_and_diff(
    overlay_worker: Worker, base: Snapshot, context: Path, request_: CopyRequest
) -> None:
    expected = _by_copying(overlay_worker, base, context, request_)
    assert _direct(overlay_worker, base, context, request_) == expected


def test_archives_for_add_take_the_copying_path(
    overlay_worker: Worker, base: Snapshot, context: Path
) -> None:
    with pytest.raises(Uncovered):
        _direct(overlay_worker, base, context, CopyRequest(("src",), "/x/", unpack_archives=True))
