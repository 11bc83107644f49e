"""Base images made offline: a busybox-static root filesystem, and a multi-layer image on it."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from _infra._dockerd import DockerDaemon

BUSYBOX_REF = "dockyard-test/busybox:latest"
MULTILAYER_REF = "dockyard-test/multi:latest"
BUSYBOX_BINARY = Path("/bin/busybox")  # from the Debian package busybox-static
_EPOCH = 1_700_000_000  # fixed mtime: the base layer's bytes (diff_id) are the same every run

# Applets linked into /bin besides the ones `busybox --list` reports; kept short and explicit so
# the image does not depend on which applets a given busybox build has compiled in.
BUSYBOX_APPLETS = (
    "sh", "ash", "ls", "cat", "echo", "true", "false", "env", "id", "mkdir", "rm", "rmdir",
    "cp", "mv", "ln", "touch", "chmod", "chown", "stat", "head", "tail", "wc", "sha256sum",
    "md5sum", "dd", "sleep", "printf", "test", "[", "grep", "sed", "awk", "find", "xargs",
    "tar", "gzip", "gunzip", "uname", "whoami", "hostname", "pwd", "readlink", "realpath",
    "du", "df", "sort", "uniq", "tr", "cut", "basename", "dirname", "date", "seq", "vi",
    "wget", "ps", "kill", "mount", "umount", "which", "yes",
)  # fmt: skip

PASSWD = (
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
)
GROUP = "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n"


class BuiltImage(NamedTuple):
    """An image in the test daemon: ``ref`` (as tagged) and ``id`` ("sha256:…", the config digest)."""

    ref: str
    id: str


@dataclass(frozen=True)
class MultiLayerSpec:
    """What the multi-layer image holds, so tests can check it without re-deriving it."""

    layer_count: int = 4  # base rootfs + 3 (two COPYs and one RUN)
    env: tuple[tuple[str, str], ...] = (("DOCKYARD_TEST", "multi"),)
    labels: tuple[tuple[str, str], ...] = (
        ("org.opencontainers.image.title", "dockyard multi-layer test image"),
        ("dockyard.test.kind", "multi"),
    )
    entrypoint: tuple[str, ...] = ("/bin/sh", "-c")
    cmd: tuple[str, ...] = ("cat /data/small.txt",)
    workdir: str = "/data"
    small_text: str = "hello from dockyard\n"
    medium_size: int = 64 * 1024
    large_size: int = 1024 * 1024
    run_text: str = "made by RUN\n"


MULTI = MultiLayerSpec()


def pattern_bytes(size: int, seed: str) -> bytes:
    """``size`` deterministic, incompressible-looking bytes (sha256 in counter mode)."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def make_busybox_rootfs(root: Path) -> Path:
    """Write a minimal busybox root filesystem into ``root`` (created) and return it."""
    if not BUSYBOX_BINARY.exists():
        raise FileNotFoundError(
            f"{BUSYBOX_BINARY} is missing: install the Debian package busybox-static (`make test`)"
        )
    for d in ("bin", "etc", "root", "tmp", "dev", "proc", "sys", "var", "usr/bin"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX_BINARY, root / "bin" / "busybox")
    (root / "bin" / "busybox").chmod(0o755)
    for applet in BUSYBOX_APPLETS:
        (root / "bin" / applet).symlink_to("busybox")
    (root / "etc" / "passwd").write_text(PASSWD)
    (root / "etc" / "group").write_text(GROUP)
    (root / "tmp").chmod(0o1777)
    (root / "root").chmod(0o700)
    return root


def tar_rootfs(root: Path, out: Path) -> Path:
    """Tar ``root`` deterministically (sorted names, root-owned, fixed mtimes) into ``out``."""

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = _EPOCH
        return info

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*"), key=lambda p: p.relative_to(root).as_posix()):
            tar.add(
                path, arcname=path.relative_to(root).as_posix(), recursive=False, filter=normalise
            )
    return out


def image_id(docker: DockerDaemon, ref: str) -> str:
    return str(docker.run("image", "inspect", "-f", "{{.Id}}", ref).stdout.strip())


def build_busybox_image(docker: DockerDaemon, workdir: Path, ref: str = BUSYBOX_REF) -> BuiltImage:
    """``docker import`` a busybox rootfs as ``ref`` (CMD ["/bin/sh"])."""
    workdir.mkdir(parents=True, exist_ok=True)
    rootfs = make_busybox_rootfs(workdir / "rootfs")
    tarball = tar_rootfs(rootfs, workdir / "rootfs.tar")
    docker.run("import", "--change", 'CMD ["/bin/sh"]', str(tarball), ref)
    return BuiltImage(ref, image_id(docker, ref))


def multilayer_dockerfile(base: str, spec: MultiLayerSpec = MULTI) -> str:
    env = " ".join(f'{k}="{v}"' for k, v in spec.env)
    labels = " ".join(f'{k}="{v}"' for k, v in spec.labels)
    run = " && ".join(
        [
            "mkdir -p /data/links /data/empty",
            f"printf '{spec.run_text.rstrip()}\\n' > /data/links/run.txt",
            "ln /data/links/run.txt /data/links/run-hardlink.txt",
            "ln -s ../small.txt /data/links/small-symlink",
            "chmod 0750 /data/links/run.txt",
        ]
    )
    return "\n".join(
        [
            f"FROM {base}",
            f"LABEL {labels}",
            f"ENV {env}",
            "COPY small.txt medium.bin /data/",
            "COPY large.bin /data/",
            f"RUN {run}",
            f"WORKDIR {spec.workdir}",
            "ENTRYPOINT " + _json_list(spec.entrypoint),
            "CMD " + _json_list(spec.cmd),
            "",
        ]
    )


def build_multilayer_image(
    docker: DockerDaemon,
    workdir: Path,
    base: str = BUSYBOX_REF,
    ref: str = MULTILAYER_REF,
    spec: MultiLayerSpec = MULTI,
) -> BuiltImage:
    """``docker build`` (classic builder, no network) the multi-layer image on ``base``."""
    context = workdir / "context"
    context.mkdir(parents=True, exist_ok=True)
    (context / "small.txt").write_text(spec.small_text)
    (context / "medium.bin").write_bytes(pattern_bytes(spec.medium_size, "medium"))
    (context / "large.bin").write_bytes(pattern_bytes(spec.large_size, "large"))
    (context / "Dockerfile").write_text(multilayer_dockerfile(base, spec))
    docker.run(
        "build", "--network", "none", "--pull=false", "-t", ref, str(context),
        env={"DOCKER_BUILDKIT": "0"},
    )  # fmt: skip
    return BuiltImage(ref, image_id(docker, ref))


def save_image(docker: DockerDaemon, ref: str, out: Path) -> Path:
    """``docker save`` ``ref`` to the docker-archive tar ``out``."""
    docker.run("save", "-o", str(out), ref)
    return out


def _json_list(items: tuple[str, ...]) -> str:
    return json.dumps(list(items))
