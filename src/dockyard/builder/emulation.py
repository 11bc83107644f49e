"""Running a foreign platform's RUN steps through qemu-user: is a binfmt_misc handler there?

A RUN step for a platform this machine cannot execute natively runs its binaries through a
qemu-user interpreter that the kernel's binfmt_misc starts. The handler must be registered,
enabled and carry the ``F`` (fix binary) flag, so that the kernel opens the interpreter at
registration and it works inside the container's root, where the interpreter's path does not
exist. Without one a step dies with ``exec format error``; :func:`check_graph` finds that out
before the first step and says what to install.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.errors import FailedPrecondition
from dockyard.oci.platform import Platform

if TYPE_CHECKING:
    from dockyard.builder.frontend import BuildGraph

__all__ = [
    "BINFMT_ENV",
    "BINFMT_MISC",
    "Handler",
    "binfmt_dir",
    "check_graph",
    "check_platforms",
    "emulated_platforms",
    "handler_for",
    "is_native",
    "qemu_name",
]

BINFMT_MISC = Path("/proc/sys/fs/binfmt_misc")
#: Where to read binfmt_misc from instead (a differently mounted binfmt_misc, or a test's copy).
BINFMT_ENV = "DOCKYARD_BINFMT_MISC"

#: GOARCH → the machine name qemu and binfmt-support call it by (``qemu-<name>``).
_QEMU = {
    "386": "i386",
    "amd64": "x86_64",
    "arm": "arm",
    "arm64": "aarch64",
    "loong64": "loongarch64",
    "mips64": "mips64",
    "mips64le": "mips64el",
    "ppc64le": "ppc64le",
    "riscv64": "riscv64",
    "s390x": "s390x",
}


@dataclass(frozen=True, slots=True)
class Handler:
    """One binfmt_misc entry as the kernel shows it."""

    name: str
    enabled: bool
    interpreter: str
    flags: str

    @property
    def fix_binary(self) -> bool:
        return "F" in self.flags


def binfmt_dir() -> Path:
    return Path(os.environ.get(BINFMT_ENV) or BINFMT_MISC)


def qemu_name(platform: Platform) -> str:
    """``aarch64`` for linux/arm64: the suffix of the ``qemu-…`` handler it needs."""
    arch = platform.normalized().architecture
    return _QEMU.get(arch, arch)


def is_native(platform: Platform, host: Platform | None = None) -> bool:
    """Whether this machine runs ``platform``'s binaries itself (amd64 also runs 386)."""
    return platform.rank(host or Platform.current()) is not None


def handler_for(platform: Platform, directory: Path | None = None) -> Handler | None:
    """The ``qemu-<arch>`` binfmt_misc entry for ``platform``, or ``None`` if there is none."""
    name = f"qemu-{qemu_name(platform)}"
    try:
        text = ((directory or binfmt_dir()) / name).read_text()
    except OSError:
        return None
    lines = text.splitlines()
    fields = dict(line.split(" ", 1) for line in lines[1:] if " " in line)
    return Handler(
        name=name,
        enabled=bool(lines) and lines[0].strip() == "enabled",
        interpreter=fields.get("interpreter", "").strip(),
        flags=fields.get("flags:", "").strip(),
    )


def emulated_platforms(graph: BuildGraph, host: Platform | None = None) -> list[Platform]:
    """The foreign platforms whose RUN steps the target of ``graph`` needs, in stage order."""
    out: list[Platform] = []
    for stage in graph.needed():
        platform = stage.platform or graph.target_platform
        if platform in out or is_native(platform, host):
            continue
        if any(ins.name == "RUN" for ins in stage.instructions):
            out.append(platform)
    return out


def check_graph(graph: BuildGraph, directory: Path | None = None) -> None:
    """Raise before any step if a RUN of ``graph`` needs an emulator this machine lacks."""
    check_platforms(emulated_platforms(graph), directory)


def check_platforms(
    platforms: Iterable[Platform], directory: Path | None = None, *, what: str = "RUN steps"
) -> None:
    """Raise :class:`FailedPrecondition` naming the first of ``platforms`` (foreign ones) whose
    binfmt_misc handler is missing, disabled or without the ``F`` flag, and how to fix it."""
    where = directory or binfmt_dir()
    for platform in platforms:
        arch = qemu_name(platform)
        enable = f"update-binfmts --enable qemu-{arch}"
        install = f"apt-get install qemu-user-static binfmt-support, then {enable}"
        if not (where / "register").exists() and not (where / "status").exists():
            raise FailedPrecondition(
                f"cannot run {what} for {platform}: binfmt_misc is not mounted at {where}, "
                "so no qemu emulator can be registered",
                hint=f"mount -t binfmt_misc binfmt_misc {where}; {install}",
            )
        handler = handler_for(platform, where)
        if handler is None:
            raise FailedPrecondition(
                f"cannot run {what} for {platform}: no qemu-{arch} binfmt_misc handler is "
                "registered on this machine",
                hint=f"install one: {install}",
            )
        if not handler.enabled:
            raise FailedPrecondition(
                f"cannot run {what} for {platform}: the qemu-{arch} binfmt_misc handler is "
                "disabled",
                hint=f"enable it: {enable}",
            )
        if not handler.fix_binary:
            raise FailedPrecondition(
                f"cannot run {what} for {platform}: the qemu-{arch} binfmt_misc handler lacks "
                f"the F flag (flags: {handler.flags or 'none'}), so its interpreter "
                f"{handler.interpreter or '?'} cannot start inside a container",
                hint=f"register the static one: {install}",
            )
