"""``dockyard build`` and ``builder prune`` (FROM scratch: no daemon, no runtime): what they
print, exit codes for a missing or bad Dockerfile, ``--format json``, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, run_in_process


def _context(tmp_path: Path, dockerfile: str) -> Path:
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(dockerfile)
    (context / "a").write_text("a\n")
    return context


def test_build_quiet_prints_the_image_id(dockyard_root: Path, tmp_path: Path) -> None:
    context = _context(tmp_path, "FROM scratch\nCOPY a /a\n")
    out = run_dockyard("build", "-q", "-t", "cli/b:1", context, root=dockyard_root)
    image_id = out.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71, out.stdout
    inspected = run_dockyard("inspect", "-f", "{{.Id}}", "cli/b:1", root=dockyard_root)
    assert inspected.stdout.strip() == image_id
    iidfile = tmp_path / "iid"
    run_dockyard("build", "-q", "--iidfile", iidfile, context, root=dockyard_root)
    assert iidfile.read_text() == image_id


def test_missing_or_bad_dockerfile_exits_1(dockyard_root: Path, tmp_path: Path) -> None:
    out = run_dockyard("build", tmp_path / "nosuch", root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "Error: failed to read dockerfile" in out.stderr and "pass -f" in out.stderr
    context = _context(tmp_path, "FROM scratch\nBOGUS x\n")
    out = run_dockyard("build", context, root=dockyard_root, check=False)
    assert out.returncode == 1
    assert "Error: Dockerfile:2" in out.stderr, out.stderr
    assert "unknown instruction: BOGUS" in out.stderr


def test_builder_prune_json(dockyard_root: Path, tmp_path: Path) -> None:
    run_dockyard("build", "-q", _context(tmp_path, "FROM scratch\nCOPY a /a\n"), root=dockyard_root)
    out = run_dockyard("builder", "prune", "-a", "-f", "--format", "json", root=dockyard_root)
    doc = json.loads(out.stdout)
    assert {"CachesDeleted", "SpaceReclaimed", "Caches"} <= set(doc)
    assert isinstance(doc["SpaceReclaimed"], int)
    text = run_dockyard("builder", "prune", "-a", "-f", root=dockyard_root).stdout
    assert text.splitlines()[-1].startswith("Total reclaimed space: "), text


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("build", root=dockyard_root, check=False), "Missing argument 'CONTEXT'"
    )
    assert_usage_error(
        run_in_process("build", "--bogus", ".", root=dockyard_root, check=False),
        "No such option '--bogus'",
    )
    assert_usage_error(
        run_in_process("builder", "prune", "--format", "xml", root=dockyard_root, check=False),
        "Invalid value for '--format'",
    )
    assert_help(dockyard_root, "build")
    assert_help(dockyard_root, "builder", "prune")
