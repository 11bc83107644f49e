"""``dockyard push``, ``pull``, ``copy`` and the registry look-ups (``tags``, ``digest``,
``manifest inspect``, ``delete``) against a real registry process: what they print, their
``--format json`` and exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, import_image, run_in_process
from _infra.registry_server import RegistryProcess, start_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """One registry process for the module: each test pushes (or re-pushes) what it reads."""
    with start_registry(tmp_path_factory.mktemp("registry"), "--delete") as server:
        yield server


@pytest.fixture
def pushed(registry: RegistryProcess, dockyard_root: Path, tmp_path: Path) -> str:
    """``HOST/cli/app:1``, imported into the store and pushed."""
    ref = f"{registry.host}/cli/app:1"
    import_image(dockyard_root, tmp_path, ref)
    out = run_dockyard("push", ref, root=dockyard_root)
    lines = out.stdout.splitlines()
    assert lines[0] == f"The push refers to repository [{registry.host}/cli/app]", out.stdout
    assert lines[-1].startswith("1: digest: sha256:") and " size: " in lines[-1], out.stdout
    return ref


@pytest.mark.slow
def test_pull_prints_the_digest_once(pushed: str, tmp_path: Path) -> None:
    """As docker pull: "1: Pulling from …", one "Digest: …" line, "Status: …", the reference
    (stdout and stderr together: a terminal shows both)."""
    out = run_dockyard("pull", pushed, root=tmp_path / "other-store")
    both = out.stdout + out.stderr
    digests = [line for line in both.splitlines() if line.startswith("Digest: ")]
    assert len(digests) == 1, both
    lines = out.stdout.splitlines()
    assert lines[0] == f"1: Pulling from {pushed.split('/', 1)[0]}/cli/app", out.stdout
    assert lines[-3].startswith("Digest: sha256:"), out.stdout
    assert lines[-2] == f"Status: Downloaded newer image for {pushed}", out.stdout
    assert lines[-1] == pushed
    # quiet: the reference alone
    again = run_dockyard("pull", "-q", pushed, root=tmp_path / "other-store")
    assert again.stdout == f"{pushed}\n"


def test_push_quiet_prints_the_digest(pushed: str, dockyard_root: Path) -> None:
    out = run_dockyard("push", "-q", pushed, root=dockyard_root)
    digest = run_dockyard("digest", pushed, root=dockyard_root).stdout.strip()
    assert out.stdout == f"{digest}\n"
    assert digest.startswith("sha256:")


def test_copy_json_output(pushed: str, dockyard_root: Path, tmp_path: Path) -> None:
    out = run_dockyard(
        "copy",
        f"docker://{pushed}",
        f"oci:{tmp_path / 'layout'}:1",
        "--format",
        "json",
        root=dockyard_root,
    )
    doc = json.loads(out.stdout)
    assert {"Digest", "MediaType", "Size", "Copied", "Skipped", "Mounted"} <= set(doc)
    assert doc["Digest"] == run_dockyard("digest", pushed, root=dockyard_root).stdout.strip()
    assert out.stderr == ""  # no progress with --format json


@pytest.mark.slow
def test_lookups_tags_manifest_delete(pushed: str, dockyard_root: Path) -> None:
    repo = pushed.rsplit(":", 1)[0]
    tags = json.loads(run_dockyard("tags", repo, "--format", "json", root=dockyard_root).stdout)
    assert tags == {"Repository": repo, "Tags": ["1"]}
    assert run_dockyard("tags", repo, root=dockyard_root).stdout == "1\n"
    manifest = json.loads(run_dockyard("manifest", "inspect", pushed, root=dockyard_root).stdout)
    assert manifest["schemaVersion"] == 2 and "layers" in manifest
    out = run_dockyard("delete", pushed, root=dockyard_root)
    assert out.stdout.startswith(f"Deleted: {repo}@sha256:")


def test_not_found_exits_1_with_one_error_line(registry: RegistryProcess, tmp_path: Path) -> None:
    root = tmp_path / "store"
    out = run_dockyard("pull", f"{registry.host}/cli/none:1", root=root, check=False)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, out.stderr
    out = run_dockyard("push", f"{registry.host}/cli/none:1", root=root, check=False)
    assert out.returncode == 1 and "Error: " in out.stderr


@pytest.mark.slow
def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("pull", root=dockyard_root, check=False), "Missing argument 'REF'"
    )
    assert_usage_error(
        run_in_process("copy", "a", root=dockyard_root, check=False),
        "Missing argument 'DESTINATION'",
    )
    assert_usage_error(
        run_in_process("push", "x", "--compression", "lz4", root=dockyard_root, check=False),
        "Invalid value for '--compression'",
    )
    for command in (["pull"], ["push"], ["copy"], ["tags"], ["digest"], ["manifest", "inspect"]):
        assert_help(dockyard_root, *command)
