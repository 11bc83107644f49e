"""Root filesystem snapshots for build steps: cached image roots, writable children, diffs.

Layout under ``<root>`` (the store's ``build/`` directory)::

    snapshots/<id>/fs          a committed snapshot: a whole tree ("flat") or an overlay upper
    snapshots/<id>/meta.json   {"key": chain id, "kind": "flat"|"upper", "parent": <id>|null,
                                "synced": bool, "boot": boot id (when not synced)}
    work/<random>/             writable snapshots in use (upper, work and merged dirs, or a copied fs)

A committed snapshot is named by the chain ID of the layers that make it (OCI's ChainID: the
first diff_id, then ``sha256(parent + " " + diff_id)``), so image roots and build results are
shared by every build in the store. With overlayfs a child is an upper directory stacked on its
parent's; without it (not root, or no overlay on this file system) every snapshot is a full copy
(``cp -a``, reflinked where the file system can) and diffs compare trees.

A snapshot is not synced to disk when it is made (that would cost a sync of the whole file
system per step), so it is trusted only in the boot that made it: after a crash or a reboot it
is discarded and made again from its layers, which the content store keeps synced. Writable
snapshots are mounted ``volatile`` where the kernel can (Linux 5.10+), so that unmounting them
does not sync the file system either; where it cannot, the unmount syncs the upper directory's
file system, and a snapshot committed from it is kept whatever the boot.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, NamedTuple

from dockyard.builder.worker._overlay import (
    mount_overlay,
    overlay_supported,
    overlay_volatile,
    unmount,
)
from dockyard.errors import FailedPrecondition

if TYPE_CHECKING:  # layer code (and its compressors) loads when a layer is read or written
    from dockyard.content import ContentStore
    from dockyard.digest import Digest
    from dockyard.image import Layer
    from dockyard.layers import Compression, LayerBlob

__all__ = ["Snapshot", "SnapshotManager", "WorkSnapshot", "chain_id"]

SCRATCH = "scratch"
#: Beyond this many stacked uppers a commit is flattened (mount options have a size limit).
MAX_DEPTH = 100


def chain_id(parent: str | None, diff_id: Digest | str) -> str:
    """OCI ChainID of ``diff_id`` on top of ``parent`` (None or "scratch" for the first layer)."""
    if parent is None or parent == SCRATCH:
        return str(diff_id)
    return "sha256:" + sha256(f"{parent} {diff_id}".encode()).hexdigest()


def _dir_name(key: str) -> str:
    return sha256(key.encode()).hexdigest()[:20]


@functools.cache
def boot_id() -> str:
    """This boot of the machine ("" where the kernel does not say)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _trusted(meta: dict[str, object]) -> bool:
    """Whether a committed snapshot's files are known to be whole: synced, or made in this boot
    (written files stay in the page cache until a crash or a reboot)."""
    return meta.get("synced", True) is not False or meta.get("boot") == boot_id()


class Snapshot(NamedTuple):
    """A committed, read-only snapshot. ``lowers`` are its directories, top first."""

    key: str
    lowers: tuple[Path, ...]
    kind: Literal["flat", "upper"]

    @property
    def is_scratch(self) -> bool:
        return self.key == SCRATCH


class SnapshotManager:
    """Creates, caches and diffs root filesystems under ``root`` (e.g. ``<store>/build``)."""

    def __init__(self, root: Path, *, overlay: bool | None = None) -> None:
        self.root = Path(root).resolve()
        self._snapshots = self.root / "snapshots"
        self._work = self.root / "work"
        for d in (self._snapshots, self._work):
            d.mkdir(parents=True, exist_ok=True)
        self._overlay = overlay
        self._volatile: bool | None = None
        scratch = self._snapshots / SCRATCH / "fs"
        if not scratch.is_dir():
            scratch.mkdir(parents=True, exist_ok=True)
            scratch.chmod(0o755)

    @property
    def overlay(self) -> bool:
        """Whether snapshots are overlay uppers (probed on first use, remembered in the store)."""
        if self._overlay is None:
            self._overlay = overlay_supported(self._work, remember=self.root / "overlay.json")
        return self._overlay

    @property
    def volatile(self) -> bool:
        """Whether writable overlays are mounted ``volatile`` (their unmount does not sync)."""
        if self._volatile is None:
            self._volatile = self.overlay and overlay_volatile(
                self._work, remember=self.root / "overlay.json"
            )
        return self._volatile

    # --- committed snapshots -----------------------------------------------------------------

    def scratch(self) -> Snapshot:
        """The empty root filesystem (``FROM scratch``)."""
        return Snapshot(SCRATCH, (self._snapshots / SCRATCH / "fs",), "flat")

    def get(self, key: str) -> Snapshot | None:
        """The committed snapshot for chain ID ``key``, if this store has it."""
        if key == SCRATCH:
            return self.scratch()
        lowers: list[Path] = []
        kind: Literal["flat", "upper"] | None = None
        name: str | None = _dir_name(key)
        while name is not None:
            meta_path = self._snapshots / name / "meta.json"
            try:
                meta = json.loads(meta_path.read_text())
            except (FileNotFoundError, ValueError):
                return None
            if not _trusted(meta):
                self._discard(name)
                return None
            kind = kind or meta["kind"]
            lowers.append(self._snapshots / name / "fs")
            name = meta["parent"] if meta["kind"] == "upper" else None
        assert kind is not None
        return Snapshot(key, tuple(lowers), kind)

    def from_layers(self, layers: Sequence[Layer]) -> Snapshot:
        """The root filesystem of an image with ``layers``, extracted once and then reused.

        The longest run of bottom layers this store already has a snapshot for is reused and
        only the layers above it are applied, each as a child snapshot (so a layer the build
        wrote without a snapshot, like a COPY's, is extracted only when a later step needs it).
        """
        keys: list[str] = []
        key = SCRATCH
        for layer in layers:
            key = chain_id(key, layer.diff_id)
            keys.append(key)
        existing = self.get(key)
        if existing is not None:
            return existing
        have = len(layers) - 1
        while have > 0 and self.get(keys[have - 1]) is None:
            have -= 1
        if have == 0:
            return self._extract_flat(key, layers)
        snapshot = self.get(keys[have - 1])
        assert snapshot is not None
        for layer in layers[have:]:
            snapshot = self.apply(snapshot, layer)
        return snapshot

    def apply(self, parent: Snapshot, layer: Layer) -> Snapshot:
        """The child of ``parent`` with ``layer`` applied (kept under its chain ID)."""
        from dockyard.layers import apply_layer

        with self.writable(parent) as work:
            with layer.compressed() as stream:
                apply_layer(stream, work.root, expected_diff_id=layer.diff_id, spool_dir=work._dir)
            return work.commit(layer.diff_id)

    def _discard(self, name: str) -> None:
        """Remove committed snapshot ``name`` (moved aside first: it vanishes at once)."""
        aside = self._work / f"discard-{os.urandom(8).hex()}"
        with contextlib.suppress(OSError):  # another build moved it first
            os.rename(self._snapshots / name, aside)
        shutil.rmtree(aside, ignore_errors=True)

    def _extract_flat(self, key: str, layers: Sequence[Layer]) -> Snapshot:
        from dockyard.layers import apply_layer

        staging = self._new_work_dir()
        try:
            fs = staging / "fs"
            fs.mkdir(mode=0o755)
            for layer in layers:
                with layer.compressed() as stream:
                    apply_layer(stream, fs, expected_diff_id=layer.diff_id, spool_dir=staging)
            return self._publish(key, staging, "flat", None, synced=False)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _new_work_dir(self) -> Path:
        path = self._work / os.urandom(8).hex()
        path.mkdir(mode=0o700)
        return path

    def _publish(
        self,
        key: str,
        staging: Path,
        kind: Literal["flat", "upper"],
        parent: str | None,
        *,
        synced: bool,
    ) -> Snapshot:
        """Move ``staging/fs`` into place as snapshot ``key`` (someone else's copy wins a race);
        ``synced``: its files are on disk (else it is trusted in this boot only)."""
        meta: dict[str, object] = {"key": key, "kind": kind, "parent": parent, "synced": synced}
        if not synced:
            meta["boot"] = boot_id()
        (staging / "meta.json").write_text(json.dumps(meta))
        for leftover in ("upper", "work", "merged"):
            if (staging / leftover).exists() and not os.path.ismount(staging / leftover):
                shutil.rmtree(staging / leftover, ignore_errors=True)
        target = self._snapshots / _dir_name(key)
        with contextlib.suppress(FileExistsError, OSError):
            os.rename(staging, target)
        snapshot = self.get(key)
        if snapshot is None:
            raise FailedPrecondition(f"could not store snapshot {key} under {target}")
        return snapshot

    # --- views ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def mounted(self, snapshot: Snapshot) -> Iterator[Path]:
        """A read-only directory showing ``snapshot`` (for COPY --from and bind mounts)."""
        if len(snapshot.lowers) == 1:
            yield snapshot.lowers[0]
            return
        work = self._new_work_dir()
        merged = work / "merged"
        merged.mkdir()
        try:
            mount_overlay(merged, snapshot.lowers, base=self.root)
            try:
                yield merged
            finally:
                unmount(merged)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @contextlib.contextmanager
    def writable(self, parent: Snapshot) -> Iterator[WorkSnapshot]:
        """A writable child of ``parent``; discarded at the end unless committed."""
        work = WorkSnapshot(self, parent, self._new_work_dir())
        try:
            yield work
        finally:
            work.discard()


class WorkSnapshot:
    """A writable snapshot: change files under :attr:`root`, then diff and commit."""

    def __init__(self, manager: SnapshotManager, parent: Snapshot, directory: Path) -> None:
        self._manager = manager
        self.parent = parent
        self._dir = directory
        self._overlay = manager.overlay and len(parent.lowers) < MAX_DEPTH
        self._volatile = self._overlay and manager.volatile
        self._mounted = False
        if self._overlay:
            for name in ("upper", "work", "merged"):
                (directory / name).mkdir()
            os.chmod(directory / "upper", os.lstat(parent.lowers[0]).st_mode & 0o7777)
            mount_overlay(
                directory / "merged",
                parent.lowers,
                directory / "upper",
                directory / "work",
                base=manager.root,
                volatile=self._volatile,
            )
            self._mounted = True
            self.root = directory / "merged"
        else:
            self.root = directory / "fs"
            with manager.mounted(parent) as source:
                _copy_tree(source, self.root)

    def write_diff(self, out: BinaryIO, *, clamp_mtime: int | None = None) -> None:
        """Write the layer tar of the changes made under :attr:`root` into ``out``."""
        from dockyard.layers import tar_diff, tar_overlay_diff

        if self._overlay:
            tar_overlay_diff(self._dir / "upper", self.parent.lowers, out, clamp_mtime=clamp_mtime)
            return
        with self._manager.mounted(self.parent) as lower:
            tar_diff(lower, self.root, out, clamp_mtime=clamp_mtime)

    def write_layer(
        self,
        content: ContentStore,
        compression: Compression | None = "gzip",
        *,
        clamp_mtime: int | None = None,
    ) -> LayerBlob:
        """Diff, compress and store the layer (hold a store lease around this)."""
        from dockyard.layers import write_layer

        return write_layer(
            lambda out: self.write_diff(out, clamp_mtime=clamp_mtime), content, compression
        )

    def commit(self, diff_id: Digest | str) -> Snapshot:
        """Keep this snapshot as the child of its parent with layer ``diff_id``."""
        key = chain_id(self.parent.key, diff_id)
        existing = self._manager.get(key)
        if existing is not None:
            return existing
        if self._overlay:
            self._unmount()
            os.rename(self._dir / "upper", self._dir / "fs")
            parent = None if self.parent.is_scratch else _dir_name(self.parent.key)
            # unless volatile, the unmount synced the upper directory's file system
            synced = not self._volatile
            if parent is None:
                return self._manager._publish(key, self._dir, "flat", None, synced=synced)
            return self._manager._publish(key, self._dir, "upper", parent, synced=synced)
        return self._manager._publish(key, self._dir, "flat", None, synced=False)

    def _unmount(self) -> None:
        if self._mounted:
            unmount(self._dir / "merged")
            self._mounted = False

    def discard(self) -> None:
        self._unmount()
        shutil.rmtree(self._dir, ignore_errors=True)


def _copy_tree(source: Path, target: Path) -> None:
    target.mkdir(mode=0o755)
    import subprocess  # not loaded where no snapshot is copied (dockyard run)

    result = subprocess.run(
        ["cp", "-a", "--reflink=auto", f"{source}/.", f"{target}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FailedPrecondition(f"cannot copy snapshot {source}: {result.stderr.strip()}")
    st = os.lstat(source)
    os.chmod(target, st.st_mode & 0o7777)
    with contextlib.suppress(PermissionError):
        os.chown(target, st.st_uid, st.st_gid)
