"""Progress written to a pipe (a CI log): every line whole, even with layers moving in parallel."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.registry_server import start_registry

pytestmark = pytest.mark.slow

LAYERS = 48
# what plain progress may print: one line per blob, then the digest of what was copied
_LINE = re.compile(r"[0-9a-f]{12}: (Done|Already exists|Mounted)|Digest: sha256:[0-9a-f]{64}")


def _many_layer_image(root: Path, context: Path, tag: str) -> None:
    """An image of LAYERS small layers (FROM scratch + COPY: no runtime needed)."""
    context.mkdir()
    lines = ["FROM scratch"]
    for i in range(LAYERS):
        (context / f"f{i}").write_bytes(os.urandom(16_000 + 512 * i))
        lines.append(f"COPY f{i} /f{i}")
    (context / "Dockerfile").write_text("\n".join(lines) + "\n")
    run_dockyard("build", "-q", "-t", tag, context, root=root)


def _assert_whole_lines(stderr: str, what: str) -> int:
    bad = [line for line in stderr.splitlines() if not _LINE.fullmatch(line)]
    assert not bad, f"{what}: progress lines run together or broken: {bad[:5]}"
    return sum(line.endswith(": Done") for line in stderr.splitlines())


def test_parallel_progress_lines_are_whole_through_a_pipe(
    dockyard_root: Path, tmp_path: Path
) -> None:
    _many_layer_image(dockyard_root, tmp_path / "ctx", "progress/many:1")
    with start_registry(tmp_path / "registry") as registry:
        target = f"docker://{registry.host}/progress/many:1"
        pushed = run_dockyard("copy", "progress/many:1", target, root=dockyard_root)
        # config + every layer went up, each reported once
        assert _assert_whole_lines(pushed.stderr, "push") == LAYERS + 1
        for attempt in range(4):  # parallel writers race: give a torn line several chances
            pulled = run_dockyard(
                "copy", target, f"oci:{tmp_path / f'layout{attempt}'}:1", root=dockyard_root
            )
            assert _assert_whole_lines(pulled.stderr, f"pull {attempt}") == LAYERS + 1
