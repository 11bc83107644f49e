"""The CLI contract tests' helpers: small images without a daemon, exit codes, JSON output."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from typing import Any

from _infra._cli import run_dockyard

__all__ = [
    "USAGE_EXIT",
    "assert_help",
    "assert_usage_error",
    "import_image",
    "json_lines",
    "rootfs_tar",
]

#: what a usage error exits with, as docker's CLI (README: "usage errors exit 125")
USAGE_EXIT = 125


def rootfs_tar(path: Path, files: dict[str, bytes] | None = None) -> Path:
    """A small root filesystem tarball (default: ``/bin/hello`` and ``/etc/motd``)."""
    files = files or {"bin/hello": b"#!/bin/sh\necho hello\n", "etc/motd": b"hello\n"}
    with tarfile.open(path, "w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return path


def import_image(root: Path, tmp: Path, ref: str, files: dict[str, bytes] | None = None) -> str:
    """``dockyard import`` of a small tarball as ``ref``; the image ID it prints."""
    tar = rootfs_tar(tmp / f"{ref.replace('/', '_').replace(':', '_')}.tar", files)
    out = run_dockyard("import", tar, ref, root=root)
    image_id: str = str(out.stdout).strip().splitlines()[-1]
    assert image_id.startswith("sha256:"), out.stdout
    return image_id


def json_lines(text: str) -> list[dict[str, Any]]:
    """``--format json`` listings: one JSON object a line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def assert_usage_error(result: subprocess.CompletedProcess[Any], message: str) -> None:
    """Exit 125 with click's usage text and its message on stderr, nothing on stdout."""
    assert result.returncode == USAGE_EXIT, (result.returncode, result.stderr)
    assert "Usage: dockyard" in result.stderr, result.stderr
    assert message in result.stderr, result.stderr
    assert result.stdout == "", result.stdout


def assert_help(root: Path, *command: str) -> str:
    """``dockyard COMMAND --help`` exits 0 and shows the command's usage line."""
    out = run_dockyard(*command, "--help", root=root)
    assert out.stdout.startswith(f"Usage: dockyard {' '.join(command)}"), out.stdout
    assert out.stderr == ""
    return str(out.stdout)
