"""Whether crun can run a container under this host's cgroup layout, decided as crun decides it.

crun (libcrun's ``libcrun_get_cgroup_mode`` and ``libcrun_cgroup_enter``) looks at the file
system type of /sys/fs/cgroup: cgroup2 there is the unified mode; tmpfs is the legacy (v1) mode,
or the hybrid mode when a cgroup2 file system is mounted at /sys/fs/cgroup/unified; anything
else is an error. In the hybrid mode it refuses every container, whatever its cgroup manager
(``--cgroup-manager=disabled`` included) or spec, as soon as the v2 hierarchy has a controller
(``cgroup.controllers`` there is not empty): "cgroups in hybrid mode not supported". Debian 12
hosts are left that way by installing docker.io; runc runs there.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

__all__ = ["CgroupLayout", "crun_refusal", "read_layout", "refusal_for"]

CGROUP_ROOT = "/sys/fs/cgroup"
UNIFIED = CGROUP_ROOT + "/unified"


class CgroupLayout(NamedTuple):
    """What crun reads: the file system types at /sys/fs/cgroup and /sys/fs/cgroup/unified
    (None: no mount there) and the controllers of the v2 hierarchy at the latter."""

    root_type: str | None
    unified_type: str | None
    unified_controllers: tuple[str, ...] = ()


def _unescape(field: str) -> str:
    """A mountinfo path field (spaces, tabs, newlines and backslashes are octal escapes)."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def mount_types(mountinfo: str) -> dict[str, str]:
    """Mount point → file system type of the topmost mount there, from /proc/self/mountinfo
    (later lines are mounted later, so on top of earlier ones)."""
    types: dict[str, str] = {}
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)
        except ValueError:
            continue
        if len(fields) > sep + 1 and len(fields) > 4:
            types[_unescape(fields[4])] = fields[sep + 1]
    return types


def read_layout() -> CgroupLayout:
    """This process's view of the cgroup mounts (the one crun, started from it, will have)."""
    try:
        types = mount_types(Path("/proc/self/mountinfo").read_text())
    except OSError:
        types = {}
    controllers: tuple[str, ...] = ()
    if types.get(UNIFIED) == "cgroup2":
        try:
            controllers = tuple(Path(UNIFIED, "cgroup.controllers").read_text().split())
        except OSError:
            controllers = ()
    return CgroupLayout(types.get(CGROUP_ROOT), types.get(UNIFIED), controllers)


def refusal_for(layout: CgroupLayout) -> str | None:
    """Why crun refuses to run containers under ``layout``, or None if it does not."""
    if layout.root_type == "cgroup2":
        return None
    if layout.root_type != "tmpfs":
        return f"no cgroup file system is mounted at {CGROUP_ROOT}"
    if layout.unified_type == "cgroup2" and layout.unified_controllers:
        return (
            "the cgroups are hybrid (v1 controllers, and a cgroup v2 hierarchy at"
            f" {UNIFIED} with the controllers {' '.join(layout.unified_controllers)}),"
            " which crun does not support"
        )
    return None


@functools.cache
def crun_refusal() -> str | None:
    """Why crun cannot run build steps on this host, or None; read once per process (a few
    small /proc and cgroupfs reads; the layout does not change under a running build)."""
    return refusal_for(read_layout())
