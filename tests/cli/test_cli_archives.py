"""``dockyard save``, ``load`` and ``import``: exit codes, what they print, usage errors."""

from __future__ import annotations

import tarfile
from pathlib import Path

from _infra import run_dockyard
from _infra.cli_contract import (
    assert_help,
    assert_usage_error,
    import_image,
    rootfs_tar,
    run_in_process,
)


def test_save_then_load_into_another_store(dockyard_root: Path, tmp_path: Path) -> None:
    image_id = import_image(dockyard_root, tmp_path, "cli/arch:1")
    archive = tmp_path / "arch.tar"
    run_dockyard("save", "-o", archive, "cli/arch:1", root=dockyard_root)
    with tarfile.open(archive) as tar:
        assert {"manifest.json", "index.json", "oci-layout"} <= set(tar.getnames())
    other = tmp_path / "other"
    out = run_dockyard("load", "-i", archive, root=other)
    assert out.stdout == "Loaded image: cli/arch:1\n", out.stdout
    assert run_dockyard("images", "-q", "--no-trunc", root=other).stdout == f"{image_id}\n"
    # quiet, as docker load -q: no progress, still the names loaded
    quiet = run_dockyard("load", "-q", "-i", archive, root=other)
    assert quiet.stdout == "Loaded image: cli/arch:1\n" and quiet.stderr == ""


def test_import_prints_the_image_id(dockyard_root: Path, tmp_path: Path) -> None:
    tar = rootfs_tar(tmp_path / "fs.tar")
    out = run_in_process(
        "import",
        "-c",
        'CMD ["/bin/hello"]',
        "-m",
        "from a tar",
        tar,
        "cli/imp:1",
        root=dockyard_root,
    )
    image_id = out.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71, out.stdout
    inspected = run_in_process(
        "inspect", "-f", "{{json .Config.Cmd}}", "cli/imp:1", root=dockyard_root
    )
    assert inspected.stdout.strip() == '["/bin/hello"]'


def test_missing_or_bad_input_exits_1(dockyard_root: Path, tmp_path: Path) -> None:
    out = run_in_process("import", tmp_path / "nosuch.tar", root=dockyard_root, check=False)
    assert out.returncode == 1 and out.stderr.startswith("Error: "), out.stderr
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 64)
    out = run_in_process("load", "-i", tmp_path / "junk.tar", root=dockyard_root, check=False)
    assert out.returncode == 1 and out.stderr.startswith("Error: "), out.stderr
    out = run_in_process(
        "save", "-o", tmp_path / "x.tar", "nosuch", root=dockyard_root, check=False
    )
    assert out.returncode == 1 and "nosuch" in out.stderr, out.stderr


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    assert_usage_error(
        run_in_process("save", "--format", "zip", "x", root=dockyard_root, check=False),
        "Invalid value for '--format'",
    )
    assert_usage_error(
        run_in_process("import", root=dockyard_root, check=False), "Missing argument"
    )
    for command in (["save"], ["load"], ["import"], ["image", "save"], ["image", "load"]):
        assert_help(dockyard_root, *command)
