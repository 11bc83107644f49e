"""``dockyard images``/``image ls``, ``tag``, ``rmi``, ``history``, ``inspect``, ``image prune``:
docker's exit codes, ``--format json`` keys, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

from _infra import run_dockyard
from _infra.cli_contract import (
    assert_help,
    assert_usage_error,
    import_image,
    json_lines,
    run_in_process,
)

IMAGE_KEYS = {"Repository", "Tag", "ID", "Digest", "CreatedSince", "CreatedAt", "Size"}


def test_images_json_tag_and_quiet(dockyard_root: Path, tmp_path: Path) -> None:
    image_id = import_image(dockyard_root, tmp_path, "cli/img:1")
    run_in_process("tag", "cli/img:1", "cli/img:2", root=dockyard_root)
    rows = json_lines(run_in_process("images", "--format", "json", root=dockyard_root).stdout)
    assert all(set(row) >= IMAGE_KEYS for row in rows), rows
    assert sorted((r["Repository"], r["Tag"]) for r in rows) == [("cli/img", "1"), ("cli/img", "2")]
    assert {r["ID"] for r in rows} == {image_id[7:19]}
    quiet = run_in_process("image", "ls", "-q", root=dockyard_root).stdout.split()
    assert set(quiet) == {image_id[7:19]}
    template = run_in_process("images", "--format", "{{.Repository}}:{{.Tag}}", root=dockyard_root)
    assert sorted(template.stdout.split()) == ["cli/img:1", "cli/img:2"]


def test_inspect_and_history_json(dockyard_root: Path, tmp_path: Path) -> None:
    image_id = import_image(dockyard_root, tmp_path, "cli/img:1")
    inspected = json.loads(run_in_process("inspect", "cli/img:1", root=dockyard_root).stdout)
    assert isinstance(inspected, list) and len(inspected) == 1
    assert inspected[0]["Id"] == image_id
    assert inspected[0]["RepoTags"] == ["cli/img:1"]
    assert {"Created", "Config", "RootFS", "Size", "Architecture", "Os"} <= set(inspected[0])
    out = run_in_process("inspect", "-f", "{{.Id}}", "cli/img:1", root=dockyard_root)
    assert out.stdout == f"{image_id}\n"
    rows = json_lines(
        run_in_process("history", "--format", "json", "cli/img:1", root=dockyard_root).stdout
    )
    assert len(rows) == 1 and {"ID", "CreatedBy", "Size"} <= set(rows[0]), rows


def test_not_found_exits_1(dockyard_root: Path) -> None:
    for command in (
        ["inspect", "nosuch"],
        ["rmi", "nosuch"],
        ["history", "nosuch"],
        ["tag", "nosuch", "other"],
    ):
        out = run_in_process(*command, root=dockyard_root, check=False)
        assert out.returncode == 1, (command, out.stderr)
        assert "Error: No such image: nosuch" in out.stderr, (command, out.stderr)


def test_rmi_and_prune(dockyard_root: Path, tmp_path: Path) -> None:
    import_image(dockyard_root, tmp_path, "cli/img:1")
    out = run_dockyard("rmi", "cli/img:1", root=dockyard_root)
    assert out.stdout.splitlines()[0] == "Untagged: cli/img:1", out.stdout
    assert any(line.startswith("Deleted: sha256:") for line in out.stdout.splitlines())
    out = run_dockyard("image", "prune", "-a", "-f", root=dockyard_root)
    assert out.stdout.splitlines()[-1].startswith("Total reclaimed space: "), out.stdout
    assert run_dockyard("images", "-q", root=dockyard_root).stdout == ""


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("images", "--bogus", root=dockyard_root, check=False),
        "No such option '--bogus'",
    )
    assert_usage_error(
        run_in_process("tag", "only-one", root=dockyard_root, check=False),
        "Missing argument 'TARGET'",
    )
    assert_usage_error(run_in_process("rmi", root=dockyard_root, check=False), "Missing argument")
    for command in (
        ["images"],
        ["image", "ls"],
        ["image", "prune"],
        ["tag"],
        ["rmi"],
        ["history"],
        ["inspect"],
    ):
        assert_help(dockyard_root, *command)
