"""RUN --mount: cache, bind, tmpfs and secret mounts, made ready on the host for one step."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dockyard.builder.worker._scope import clean_path, resolve_in_root
from dockyard.builder.worker._spec import Mount
from dockyard.errors import NotFound

__all__ = ["BindMount", "CacheMount", "RunMount", "SecretMount", "TmpfsMount", "prepare_mounts"]


@dataclass(frozen=True)
class CacheMount:
    """``--mount=type=cache``: a directory kept in the store between builds."""

    target: str
    id: str | None = None  #: defaults to the target
    sharing: Literal["shared", "private", "locked"] = "shared"
    readonly: bool = False
    mode: int = 0o755
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class BindMount:
    """``--mount=type=bind``: ``source`` (a path under ``root``, e.g. the context or another
    stage's root filesystem, resolved inside it) at ``target``; read-only unless ``readwrite``
    (then writes go to a throw-away copy)."""

    target: str
    root: Path
    source: str = "/"
    readwrite: bool = False


@dataclass(frozen=True)
class TmpfsMount:
    target: str
    size: int | None = None  #: bytes


@dataclass(frozen=True)
class SecretMount:
    """``--mount=type=secret``: the secret ``id`` at ``target`` (default /run/secrets/<id>)."""

    id: str
    target: str | None = None
    required: bool = False
    mode: int = 0o400
    uid: int = 0
    gid: int = 0

    @property
    def destination(self) -> str:
        return self.target or f"/run/secrets/{self.id}"


RunMount = CacheMount | BindMount | TmpfsMount | SecretMount


def _cache_dir(cache_root: Path, mount: CacheMount, stack: contextlib.ExitStack) -> Path:
    key = mount.id or clean_path(mount.target)
    base = cache_root / hashlib.sha256(key.encode()).hexdigest()[:32]
    base.mkdir(parents=True, exist_ok=True)
    index = 0
    while True:
        instance = base / str(index)
        lock_file = open(base / f"{index}.lock", "a+b")  # noqa: SIM115 - closed by the stack
        stack.callback(lock_file.close)
        if mount.sharing == "shared":
            break
        if mount.sharing == "locked":
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            break
        try:  # private: the first instance nobody else holds, or a new one
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            index += 1
    if not instance.exists():
        staging = base / f".new-{os.getpid()}-{index}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        os.chown(staging, mount.uid, mount.gid)
        os.chmod(staging, mount.mode)
        with contextlib.suppress(OSError):
            os.rename(staging, instance)
        shutil.rmtree(staging, ignore_errors=True)
    return instance


def prepare_mounts(
    mounts: tuple[RunMount, ...],
    *,
    cache_root: Path,
    secrets: Mapping[str, Path],
    scratch: Path,
    stack: contextlib.ExitStack,
) -> list[Mount]:
    """Host-side sources for ``mounts``; anything temporary is cleaned up by ``stack``."""
    out: list[Mount] = []
    for n, m in enumerate(mounts):
        if isinstance(m, CacheMount):
            source = _cache_dir(cache_root, m, stack)
            opts: tuple[str, ...] = ("rbind", "ro" if m.readonly else "rw")
            out.append(Mount(clean_path(m.target), "bind", str(source), opts))
        elif isinstance(m, BindMount):
            source = resolve_in_root(m.root, m.source)
            if not os.path.lexists(source):
                raise NotFound(
                    f"cannot bind-mount {m.source}: it does not exist in the mount's source"
                )
            if m.readwrite:  # writes are thrown away: they go to a copy
                copy = scratch / f"bind-{n}"
                if source.is_dir():
                    shutil.copytree(source, copy, symlinks=True)
                else:
                    shutil.copy2(source, copy)
                source = copy
            opts = ("rbind", "rw" if m.readwrite else "ro")
            out.append(Mount(clean_path(m.target), "bind", str(source), opts))
        elif isinstance(m, TmpfsMount):
            opts = ("nosuid", "nodev") + ((f"size={m.size}",) if m.size else ())
            out.append(Mount(clean_path(m.target), "tmpfs", "tmpfs", opts))
        else:
            secret = secrets.get(m.id)
            if secret is None:
                if m.required:
                    raise NotFound(
                        f"secret {m.id} is required but was not provided",
                        hint=f"pass --secret id={m.id},src=<file>",
                    )
                continue
            copy = scratch / f"secret-{n}"
            shutil.copyfile(secret, copy)
            os.chown(copy, m.uid, m.gid)
            os.chmod(copy, m.mode)
            out.append(Mount(clean_path(m.destination), "bind", str(copy), ("rbind", "ro")))
    return out
