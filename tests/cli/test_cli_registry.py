"""``dockyard registry gc`` and ``registry fsck``: exit codes, text with sizes as docker prints
them, ``--format json`` with raw byte counts, usage errors (``serve`` has its own module)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from _infra.cli_contract import assert_help, assert_usage_error, run_in_process
from _infra.registry_server import ASGIClient, backdate, push_blob, push_image
from dockyard.registry import Registry, RegistryApp

STRAY = b"s" * 2500  # go-units HumanSize: 2.5kB


@pytest.fixture
def registry_root(tmp_path: Path) -> Path:
    """A registry data directory holding one tagged image and one blob nothing refers to,
    all a day old (so gc's grace period does not keep them)."""
    root = tmp_path / "registry"
    registry = Registry.open(root)
    with ASGIClient(RegistryApp(registry, threads=2)) as client:
        push_image(client, "app", "1")
        push_blob(client, "app", STRAY)
    backdate(registry)
    registry.close()
    return root


def test_gc_text_shows_sizes_humanised(registry_root: Path, dockyard_root: Path) -> None:
    out = run_in_process("registry", "gc", "--root", registry_root, "--dry-run", root=dockyard_root)
    summary = out.stdout.splitlines()[-1]
    assert summary == "0 manifest(s), 1 blob(s), 2.5kB to free", out.stdout
    out = run_in_process("registry", "gc", "--root", registry_root, root=dockyard_root)
    assert out.stdout.splitlines()[-1] == "0 manifest(s), 1 blob(s), 2.5kB freed", out.stdout


def test_gc_json_keeps_bytes(registry_root: Path, dockyard_root: Path) -> None:
    out = run_in_process(
        "registry", "gc", "--root", registry_root, "--format", "json", root=dockyard_root
    )
    report = json.loads(out.stdout)
    assert {"manifests", "blobs", "orphans", "bytes_freed"} <= set(report), report
    assert report["bytes_freed"] == len(STRAY)
    assert len(report["blobs"]) == 1


def test_fsck_clean_exits_0_with_humanised_total(registry_root: Path, dockyard_root: Path) -> None:
    out = run_in_process("registry", "fsck", "--root", registry_root, root=dockyard_root)
    last = out.stdout.splitlines()[-1]
    assert re.fullmatch(r"checked \d+ blob\(s\), \d+(\.\d+)?(B|kB|MB): no problems found", last), (
        out.stdout
    )
    assert " bytes" not in last


def test_fsck_json_counts_bytes_and_exits_1_on_problems(
    registry_root: Path, dockyard_root: Path
) -> None:
    out = run_in_process(
        "registry", "fsck", "--root", registry_root, "--format", "json", root=dockyard_root
    )
    report = json.loads(out.stdout)
    assert report["ok"] is True
    assert isinstance(report["bytes_checked"], int) and report["bytes_checked"] >= len(STRAY)
    assert {"corrupt", "missing", "dangling", "blobs_checked"} <= set(report)
    # a corrupt blob: exit 1, its size humanised in the text
    blob = next(
        p
        for p in (registry_root / "blobs").rglob("*")
        if p.is_file() and p.stat().st_size == len(STRAY)
    )
    blob.write_bytes(b"t" * len(STRAY))
    bad = run_in_process(
        "registry", "fsck", "--root", registry_root, root=dockyard_root, check=False
    )
    assert bad.returncode == 1, bad.stderr
    line = next(x for x in bad.stdout.splitlines() if x.startswith("corrupt blob"))
    assert ": 2.5kB hash to sha256:" in line, line


def test_fsck_usage_errors_exit_2(tmp_path: Path, dockyard_root: Path) -> None:
    out = run_in_process("registry", "fsck", "--bogus", root=dockyard_root, check=False)
    assert out.returncode == 2, out.stderr
    assert "No such option '--bogus'" in out.stderr
    # not a registry data directory: said, and exit 2 (usage), not 1 (problems)
    out = run_in_process("registry", "fsck", "--root", tmp_path, root=dockyard_root, check=False)
    assert out.returncode == 2
    assert "is not a registry data directory" in out.stderr


def test_gc_usage_errors_exit_125(dockyard_root: Path) -> None:
    out = run_in_process("registry", "gc", "--grace", "-1", root=dockyard_root, check=False)
    assert_usage_error(out, "Invalid value for '--grace'")
    out = run_in_process("registry", "nosuch", root=dockyard_root, check=False)
    assert_usage_error(out, "No such command 'nosuch'")


def test_registry_help(dockyard_root: Path) -> None:
    text = assert_help(dockyard_root, "registry")
    assert {"serve", "gc", "fsck"} <= set(re.findall(r"^  (\w+)", text, re.MULTILINE))
    assert "--dry-run" in assert_help(dockyard_root, "registry", "gc")
    assert "Exit status: 0 no problems" in assert_help(dockyard_root, "registry", "fsck")


def test_config_file_as_an_argument_as_registry2_takes_it(
    registry_root: Path, dockyard_root: Path, tmp_path: Path
) -> None:
    """``registry garbage-collect config.yml`` is registry:2's form: gc, fsck and migrate take
    the config file as CONFIG as well as with -c; two different files are a usage error."""
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {registry_root}\n"
    )
    out = run_in_process("registry", "gc", str(config), "--dry-run", root=dockyard_root)
    assert out.stdout.splitlines()[-1] == "0 manifest(s), 1 blob(s), 2.5kB to free", out.stdout
    assert run_in_process("registry", "fsck", str(config), root=dockyard_root).returncode == 0
    migrated = run_in_process("registry", "migrate", str(config), "--format", "json",
                              root=dockyard_root)  # fmt: skip
    assert json.loads(migrated.stdout)["changed"] is False
    other = tmp_path / "other.yml"
    other.write_text(config.read_text())
    out = run_in_process("registry", "gc", str(config), "-c", str(other), root=dockyard_root,
                         check=False)  # fmt: skip
    assert out.returncode == 2 and "two config files" in out.stderr, out.stderr
