"""Snapshots: cached image roots, stacked overlay children, the copying fallback, determinism."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

from _infra import make_busybox_rootfs
from dockyard.builder.worker import Snapshot, SnapshotManager, WorkSnapshot, chain_id
from dockyard.digest import Digester
from dockyard.image.blob import BlobLayer
from dockyard.image.store import StoreSource
from dockyard.layers import write_layer
from dockyard.local import LocalStore
from dockyard.oci import Descriptor

EPOCH = 1_700_000_000


def _diff(work: WorkSnapshot, clamp: int | None = EPOCH) -> bytes:
    out = io.BytesIO()
    work.write_diff(out, clamp_mtime=clamp)
    return out.getvalue()


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [m.name for m in tar.getmembers()]


def _commit(work: WorkSnapshot) -> Snapshot:
    data = _diff(work)
    d = Digester()
    d.update(data)
    return work.commit(d.digest())


def _base(mgr: SnapshotManager) -> Snapshot:
    with mgr.writable(mgr.scratch()) as work:
        make_busybox_rootfs(work.root)
        (work.root / "data.txt").write_text("old\n")
        return _commit(work)


def _edit(root: Path) -> None:
    """Add, change, delete, replace a directory, chmod a directory, touch nothing else."""
    (root / "data.txt").write_text("changed\n")
    os.unlink(root / "bin" / "yes")
    for child in (root / "etc").iterdir():
        child.unlink()
    (root / "etc").rmdir()
    (root / "etc").mkdir()
    (root / "etc" / "new.conf").write_text("new\n")
    (root / "usr" / "bin" / "tool").write_text("tool\n")
    os.chmod(root / "var", 0o700)
    (root / "deep" / "er").mkdir(parents=True)
    os.symlink("../etc/new.conf", root / "deep" / "er" / "link")


def test_overlay_and_copy_fallback_give_the_same_layer(tmp_path: Path) -> None:
    layers = []
    for overlay in (True, False):
        mgr = SnapshotManager(tmp_path / f"mgr-{overlay}", overlay=overlay)
        base = _base(mgr)
        with mgr.writable(base) as work:
            assert os.path.ismount(work.root) is overlay
            _edit(work.root)
            layers.append(_diff(work))
    assert layers[0] == layers[1]
    assert _names(layers[0]) == [
        "bin",
        "bin/.wh.yes",
        "data.txt",
        "deep",
        "deep/er",
        "deep/er/link",
        "etc",
        "etc/.wh..wh..opq",
        "etc/new.conf",
        "usr",
        "usr/bin",
        "usr/bin/tool",
        "var",
    ]


def test_children_stack_and_are_reused_by_chain_id(tmp_path: Path) -> None:
    mgr = SnapshotManager(tmp_path / "mgr")
    base = _base(mgr)
    with mgr.writable(base) as work:
        (work.root / "one").write_text("1")
        child = _commit(work)
    with mgr.writable(child) as work:
        (work.root / "two").write_text("2")
        os.unlink(work.root / "one")
        grandchild = _commit(work)
    assert len(grandchild.lowers) == 3 and grandchild.kind == "upper"
    with mgr.mounted(grandchild) as view:
        assert (view / "two").read_text() == "2"
        assert not (view / "one").exists() and (view / "bin" / "busybox").exists()
    again = SnapshotManager(tmp_path / "mgr").get(grandchild.key)
    assert again == grandchild
    assert not list((tmp_path / "mgr" / "work").iterdir())  # nothing left behind


def test_diff_is_deterministic_with_source_date_epoch(tmp_path: Path) -> None:
    results = []
    for n in range(2):
        mgr = SnapshotManager(tmp_path / f"m{n}")
        base = _base(mgr)
        with mgr.writable(base) as work:
            _edit(work.root)
            results.append(_diff(work, clamp=EPOCH))
    assert results[0] == results[1]
    with tarfile.open(fileobj=io.BytesIO(results[0])) as tar:
        assert {m.mtime for m in tar.getmembers()} <= {EPOCH}


def test_image_root_is_extracted_once_and_shared(tmp_path: Path) -> None:
    with LocalStore(tmp_path / "store") as store:
        rootfs = make_busybox_rootfs(tmp_path / "rootfs")
        layer = write_layer(rootfs, store.content)
        desc = Descriptor(media_type=layer.media_type, digest=layer.digest, size=layer.size)
        layers = [BlobLayer(StoreSource(store), desc, layer.diff_id)]
        mgr = SnapshotManager(tmp_path / "store" / "build")
        first = mgr.from_layers(layers)
        assert first.key == chain_id(None, layer.diff_id)
        assert (first.lowers[0] / "bin" / "busybox").is_file()
        (first.lowers[0] / "marker").write_text("cached")
        second = mgr.from_layers(layers)
        assert (second.lowers[0] / "marker").exists()


def test_an_unsynced_snapshot_from_another_boot_is_made_again(tmp_path: Path) -> None:
    """An extracted image root is not synced to disk: it is trusted in the boot that made it,
    and after a reboot (a crash could have left its files empty) extracted again."""
    with LocalStore(tmp_path / "store") as store:
        rootfs = make_busybox_rootfs(tmp_path / "rootfs")
        layer = write_layer(rootfs, store.content)
        desc = Descriptor(media_type=layer.media_type, digest=layer.digest, size=layer.size)
        layers = [BlobLayer(StoreSource(store), desc, layer.diff_id)]
        mgr = SnapshotManager(tmp_path / "store" / "build")
        first = mgr.from_layers(layers)
        meta_path = first.lowers[0].parent / "meta.json"
        meta = json.loads(meta_path.read_text())
        assert meta["synced"] is False and meta["boot"]
        (first.lowers[0] / "bin" / "busybox").write_bytes(b"")  # what a crash may leave
        meta_path.write_text(json.dumps({**meta, "boot": "an-earlier-boot"}))
        assert mgr.get(first.key) is None  # not trusted, and gone
        assert not first.lowers[0].exists()
        again = mgr.from_layers(layers)
        assert (again.lowers[0] / "bin" / "busybox").stat().st_size > 0
        # a committed overlay child: on a volatile overlay not synced either (made again after
        # a reboot); else the unmount synced it, and it is kept whatever the boot
        with mgr.writable(again) as work:
            (work.root / "added").write_text("x")
            child = _commit(work)
        child_meta = child.lowers[0].parent / "meta.json"
        data = json.loads(child_meta.read_text())
        assert data["synced"] is (not mgr.volatile)
        child_meta.write_text(json.dumps({**data, "boot": "an-earlier-boot"}))
        assert mgr.get(child.key) == (None if mgr.volatile else child)


def _mount_options(target: Path) -> set[str]:
    """The mount and super-block options of the mount at ``target`` (/proc/self/mountinfo)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split(" ")
        sep = fields.index("-")
        if fields[4] == str(target):
            return set(fields[5].split(",")) | set(fields[sep + 3].split(","))
    raise AssertionError(f"nothing is mounted at {target}")


def test_writable_overlays_are_volatile_where_the_kernel_can(tmp_path: Path) -> None:
    """A step's commit does not wait for a sync of the whole file system: writable overlays
    are mounted ``volatile`` when the probe (remembered in overlay.json) found it works."""
    mgr = SnapshotManager(tmp_path / "build")
    if not mgr.overlay:
        return  # the copying snapshotter mounts nothing
    volatile = mgr.volatile
    remembered = json.loads((tmp_path / "build" / "overlay.json").read_text())
    assert remembered["ok"] is True and remembered["volatile"] is volatile
    with mgr.writable(mgr.scratch()) as work:
        shown = _mount_options(work.root) & {
            "volatile",
            "fsync=volatile",
        }  # newer kernels: the latter
        assert bool(shown) is volatile
    kernel = tuple(int(n) for n in os.uname().release.split(".")[:2] if n.isdigit())
    if kernel >= (5, 10):
        assert volatile
