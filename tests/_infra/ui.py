"""``dockyard ui`` for tests: a local store with images made as the other local-store tests
make them (a busybox root filesystem imported, then ``dockyard build`` on top of it), and the
UI started as a real process on 127.0.0.1 with its URL read from what it prints."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _infra._cli import ROOT_ENV, dockyard_executable, run_dockyard
from _infra._images import make_busybox_rootfs, pattern_bytes, tar_rootfs
from _infra._process import terminate
from _infra.console import python_packages_layout
from _infra.scan_env import VULNDB

__all__ = ["HOSTILE", "PACKAGES", "RunningUi", "UiStore", "make_ui_store", "running_ui"]

#: markup in a file name, a layer's command (the file name in COPY) and a label
HOSTILE = "<img src=x onerror=alert(1)>"

_DOCKERFILE_V1 = """\
FROM base:1
LABEL org.example.note="{hostile}"
COPY big.bin /data/big.bin
COPY ["{hostile}.txt", "/app/"]
COPY big.bin /data/big.bin
"""

_DOCKERFILE_V2 = """\
FROM base:1
COPY config.txt /etc/app/config.txt
COPY big.bin /data/other.bin
"""


#: old versions with known advisories in the shared test data: PYSEC-2024-60 (idna) is HIGH,
#: PYSEC-2023-212 (urllib3) MEDIUM
PACKAGES = {"urllib3": "1.26.17", "idna": "3.6"}


@dataclass(frozen=True, slots=True)
class UiStore:
    root: Path
    #: the images: two of an app, the base they are built on, and one with Python packages
    v1: str = "app:v1"
    v2: str = "app:v2"
    base: str = "base:1"
    python: str = "py:1"


def make_ui_store(root: Path, work: Path) -> UiStore:
    """``base:1`` (busybox imported), ``app:v1`` (a label and a file named with markup, and
    ``/data/big.bin`` written twice: wasted bytes) and ``app:v2`` built on it; ``py:1``
    holding :data:`PACKAGES`, and a vulnerability database with their advisories."""
    rootfs = tar_rootfs(make_busybox_rootfs(work / "rootfs"), work / "rootfs.tar")
    run_dockyard("import", rootfs, "base:1", root=root)
    for tag, dockerfile in (("v1", _DOCKERFILE_V1), ("v2", _DOCKERFILE_V2)):
        context = work / f"context-{tag}"
        context.mkdir()
        (context / "Dockerfile").write_text(dockerfile.format(hostile=HOSTILE))
        (context / "big.bin").write_bytes(pattern_bytes(48 * 1024, tag))
        (context / f"{HOSTILE}.txt").write_text("hello\n")
        (context / "config.txt").write_text("answer = 42\n")
        run_dockyard("build", "-t", f"app:{tag}", context, root=root)
    layout = work / "py-layout"
    python_packages_layout(layout, PACKAGES, ("ADD os-release /etc/", "RUN pip install idna"))
    run_dockyard("copy", f"oci:{layout}:1", "py:1", root=root)
    advisories = work / "advisories"  # only the packages' own: a small database, a quick import
    advisories.mkdir()
    for path in (VULNDB / "osv" / "PyPI").glob("*.json"):
        if any(f'"name": "{name}"' in path.read_text() for name in PACKAGES):
            shutil.copy(path, advisories)
    run_dockyard("db", "import", advisories, root=root)
    return UiStore(root)


@dataclass(frozen=True, slots=True)
class RunningUi:
    url: str
    process: subprocess.Popen[bytes]


@contextmanager
def running_ui(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60.0
) -> Iterator[RunningUi]:
    """``dockyard ui --port 0 ARGS`` on ``root`` until the block ends; its URL is the one it
    printed."""
    full_env = {**os.environ, ROOT_ENV: os.fspath(root), **(env or {})}
    argv: Sequence[str] = [os.fspath(dockyard_executable()), "ui", "--port", "0", *args]
    process = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        printed = b""
        deadline = time.monotonic() + timeout
        found = None
        while found is None:
            left = deadline - time.monotonic()
            if left <= 0 or process.poll() is not None:
                raise AssertionError(f"dockyard ui printed no URL: {printed.decode()!r}")
            ready, _, _ = select.select([process.stdout], [], [], left)
            if ready:
                printed += os.read(process.stdout.fileno(), 4096)
            found = re.search(rb"http://[^\s/]+/", printed)
        yield RunningUi(found.group(0).decode(), process)
    finally:
        terminate(process)
        if process.stdout is not None:
            process.stdout.close()
