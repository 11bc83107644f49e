"""The OCI runtime spec (config.json) for one build step, shaped like Docker's defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, NamedTuple

from dockyard.builder.worker._users import ResolvedUser

__all__ = [
    "DEFAULT_CAPABILITIES",
    "DEFAULT_PATH",
    "Mount",
    "NetworkMode",
    "ProcessSpec",
    "runtime_spec",
]

NetworkMode = Literal["host", "none"]

#: Docker's default capability set for containers (moby oci/caps/defaults.go).
DEFAULT_CAPABILITIES = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

#: PATH for a step whose environment has none (BuildKit's default).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_MASKED = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
_READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


class Mount(NamedTuple):
    """One mount in the container: ``source`` on the host (or a file system name), ``options``."""

    destination: str
    type: str
    source: str
    options: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "type": self.type,
            "source": self.source,
            "options": list(self.options),
        }


def _system_mounts() -> list[Mount]:
    return [
        Mount("/proc", "proc", "proc", ("nosuid", "noexec", "nodev")),
        Mount("/dev", "tmpfs", "tmpfs", ("nosuid", "strictatime", "mode=755", "size=65536k")),
        Mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
        ),
        Mount(
            "/dev/shm", "tmpfs", "shm", ("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")
        ),
        Mount("/dev/mqueue", "mqueue", "mqueue", ("nosuid", "noexec", "nodev")),
        Mount("/sys", "sysfs", "sysfs", ("nosuid", "noexec", "nodev", "ro")),
        Mount("/sys/fs/cgroup", "cgroup", "cgroup", ("ro", "nosuid", "noexec", "nodev")),
    ]


class ProcessSpec(NamedTuple):
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    user: ResolvedUser
    hostname: str = "buildkitsandbox"
    network: NetworkMode = "host"
    extra_mounts: tuple[Mount, ...] = ()


def runtime_spec(rootfs: Path, process: ProcessSpec) -> dict[str, Any]:
    """config.json for running ``process`` in ``rootfs`` (detached: no terminal)."""
    env = list(process.env)
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, "PATH=" + DEFAULT_PATH)
    caps = list(DEFAULT_CAPABILITIES)
    namespaces = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if process.network == "none":
        namespaces.append({"type": "network"})
    mounts = [m.to_json() for m in (*_system_mounts(), *process.extra_mounts)]
    user: dict[str, Any] = {"uid": process.user.uid, "gid": process.user.gid}
    if process.user.additional_gids:
        user["additionalGids"] = list(process.user.additional_gids)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": user,
            "args": list(process.args),
            "env": env,
            "cwd": process.cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": False,
        },
        "root": {"path": str(rootfs), "readonly": False},
        "hostname": process.hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": list(_MASKED),
            "readonlyPaths": list(_READONLY),
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
        },
    }
