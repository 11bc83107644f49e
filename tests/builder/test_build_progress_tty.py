"""--progress auto: a live step view when stderr is a terminal (a real pseudo-terminal here),
plain BuildKit lines when it is not."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

from _infra import run_dockyard

pytestmark = pytest.mark.slow

DOCKERFILE = """\
FROM busybox:test
RUN for i in 1 2 3 4 5 6 7 8; do echo "line-$i"; done; sleep 1
COPY a.txt /a.txt
"""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _context(tmp: Path) -> Path:
    ctx = tmp / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(DOCKERFILE)
    (ctx / "a.txt").write_text("a\n")
    return ctx


def _run_on_a_terminal(root: Path, *args: str) -> tuple[int, str]:
    main, child = pty.openpty()
    env = {**os.environ, "DOCKYARD_ROOT": str(root), "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("dockyard")), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=child,
        env=env,
    )
    os.close(child)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # the terminal closed: the process is gone
            break
        if not data:
            break
        chunks.append(data)
    assert proc.stdout is not None
    proc.stdout.close()
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_auto_progress_is_a_live_view_on_a_terminal(
    dockyard_root: Path, dy_busybox: str, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    status, screen = _run_on_a_terminal(dockyard_root, "build", "-t", "live:1", str(ctx))
    text = _ANSI.sub("", screen)
    assert status == 0, text
    assert "[+] Building" in text  # redrawn while steps run
    assert "[+] Finished" in text
    assert re.search(r"=> \[2/3\] RUN for i in .*\s+\d+\.\ds", text)
    assert "=> => # line-8" in text  # the running step shows the last lines of its output
    assert "=> => # line-1\r" not in text.split("[+] Finished")[-1]  # not in the final list
    assert "#1 [internal]" not in text  # not the plain lines


def test_auto_progress_is_plain_lines_without_a_terminal(
    dockyard_root: Path, dy_busybox: str, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    done = run_dockyard("build", "-t", "plain:1", str(ctx), root=dockyard_root)
    assert re.search(r"^#\d+ \[2/3\] RUN for i in", done.stderr, re.M)
    assert re.search(r"^#\d+ \d+\.\d+ line-8$", done.stderr, re.M)
    assert "[+]" not in done.stderr
