"""overlayfs mounts for snapshots, and whether this process may make them."""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dockyard.errors import FailedPrecondition

__all__ = ["mount_overlay", "overlay_supported", "overlay_volatile", "unmount"]

_MNT_DETACH = 2
#: The kernel copies at most one page of mount options.
_MAX_OPTIONS = 4000
_probe_lock = threading.Lock()
_probed: dict[Path, bool] = {}
_probed_volatile: dict[Path, bool] = {}

# Renaming a lower directory must copy it (EXDEV → tools fall back to copy + delete), so that the
# upper directory alone is the complete change set: no redirects, no metadata-only copy-ups.
_OPTIONS = "redirect_dir=off,metacopy=off,index=off"


def mount_overlay(
    target: Path,
    lowers: Sequence[Path],
    upper: Path | None = None,
    work: Path | None = None,
    *,
    base: Path,
    volatile: bool = False,
) -> None:
    """Mount an overlay at ``target``: ``lowers`` top-down, read-only when ``upper`` is None.

    ``volatile`` (with an upper directory; see :func:`overlay_volatile`): the overlay ignores
    syncs and its unmount does not sync the upper directory's whole file system.
    Options longer than the kernel's one-page limit (long chains of lower directories) are
    given to mount(8) relative to ``base``, where it runs.
    """

    extra = "," + _OPTIONS + (",volatile" if volatile and upper is not None else "")
    lower = ":".join(str(p) for p in lowers)
    options = f"lowerdir={lower}"
    if upper is not None and work is not None:
        options += f",upperdir={upper},workdir={work}"
    options += extra
    if len(options) < _MAX_OPTIONS:
        # the common case: one system call, no mount(8) process
        if _libc().mount(b"overlay", os.fsencode(target), b"overlay", 0, os.fsencode(options)) == 0:
            return
        import ctypes

        errno = ctypes.get_errno()
        raise FailedPrecondition(
            f"cannot mount an overlay snapshot at {target}: {os.strerror(errno)}",
            hint="run as root on a kernel with overlayfs, or use the copying snapshotter",
        )

    def rel(path: Path) -> str:
        return os.path.relpath(path, base)

    # too long for one page: mount(8) run in ``base`` takes the lower directories relative to it
    options = "lowerdir=" + ":".join(rel(p) for p in lowers)
    if upper is not None and work is not None:
        options += f",upperdir={rel(upper)},workdir={rel(work)}"
    options += extra
    import subprocess  # only for options too long for mount(2)

    result = subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(target)],
        cwd=base,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FailedPrecondition(
            f"cannot mount an overlay snapshot at {target}: {result.stderr.strip()}",
            hint="run as root on a kernel with overlayfs, or use the copying snapshotter",
        )


@functools.cache
def _libc() -> Any:
    import ctypes

    return ctypes.CDLL("libc.so.6", use_errno=True)  # by name: no ldconfig run to find it


def unmount(target: Path) -> None:
    """Detach the mount at ``target`` (lazily, so a straggling process cannot block cleanup)."""
    if _libc().umount2(os.fsencode(target), _MNT_DETACH) != 0:
        import ctypes

        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(target))


def overlay_supported(base: Path, *, remember: Path | None = None) -> bool:
    """Whether an overlay can be mounted with upper and work dirs on ``base``'s file system.

    With ``remember`` (a file), the answer is kept there for this kernel, user and file system,
    so later processes skip the probe mount.
    """
    base = base.resolve()
    with _probe_lock:
        if base in _probed:
            return _probed[base]
        if os.geteuid() != 0 or shutil.which("mount") is None:
            ok = False
        else:
            facts = f"{os.uname().release} {os.geteuid()} {os.stat(base).st_dev}"
            ok_known = _recall(remember, facts)
            ok = _probe(base) if ok_known is None else ok_known
            if ok_known is None and remember is not None:
                _keep(remember, facts, ok=ok)
        _probed[base] = ok
        return ok


def overlay_volatile(base: Path, *, remember: Path | None = None) -> bool:
    """Whether an overlay with an upper directory can be mounted ``volatile`` on ``base``'s file
    system (Linux 5.10 and later; :func:`overlay_supported` must hold).

    Unmounting a plain overlay syncs the upper directory's whole file system (every file anyone
    wrote there, not only the snapshot's), so a step's commit would wait for that; a volatile
    overlay skips it, and what it leaves is trusted only in this boot (see ``_snapshots``).
    ``remember`` as for :func:`overlay_supported` (the same file).
    """
    base = base.resolve()
    with _probe_lock:
        if base in _probed_volatile:
            return _probed_volatile[base]
        facts = f"{os.uname().release} {os.geteuid()} {os.stat(base).st_dev}"
        known = _recall(remember, facts, "volatile")
        ok = _probe(base, volatile=True) if known is None else known
        if known is None and remember is not None:
            _keep(remember, facts, volatile=ok)
        _probed_volatile[base] = ok
        return ok


def _recall(path: Path | None, facts: str, key: str = "ok") -> bool | None:
    data = _read(path)
    if data.get("facts") == facts and isinstance(data.get(key), bool):
        return bool(data[key])
    return None


def _read(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _keep(path: Path, facts: str, **answers: bool) -> None:
    """Remember ``answers`` for ``facts`` (with the other answers kept for the same facts)."""
    data = _read(path)
    if data.get("facts") != facts:
        data = {}
    data.update(answers, facts=facts)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)


def _probe(base: Path, *, volatile: bool = False) -> bool:
    import tempfile  # only for a probe (its answer is remembered): not on a run's path

    base.mkdir(parents=True, exist_ok=True)
    probe = Path(tempfile.mkdtemp(prefix=".overlay-probe-", dir=base))
    try:
        for name in ("lower", "upper", "work", "merged"):
            (probe / name).mkdir()
        (probe / "lower" / "f").write_bytes(b"x")
        try:
            mount_overlay(
                probe / "merged",
                [probe / "lower"],
                probe / "upper",
                probe / "work",
                base=probe,
                volatile=volatile,
            )
        except FailedPrecondition:
            return False
        try:
            if volatile:
                return True
            os.unlink(probe / "merged" / "f")
            st = os.lstat(probe / "upper" / "f")
            return st.st_rdev == 0 and (st.st_mode & 0o170000) == 0o020000
        finally:
            unmount(probe / "merged")
    finally:
        shutil.rmtree(probe, ignore_errors=True)
