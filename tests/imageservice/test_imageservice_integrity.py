"""Bad bytes are named, never passed on: corrupt blobs, truncated and malformed archives."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from _infra import run_dockyard


def _make_image(root: Path, tmp_path: Path, ref: str = "integrity:1") -> dict[str, object]:
    src = tmp_path / "rootfs"
    (src / "data").mkdir(parents=True)
    (src / "data" / "payload").write_bytes(os.urandom(300_000))
    run_dockyard("import", str(src), ref, root=root)
    info: dict[str, object] = json.loads(run_dockyard("inspect", ref, root=root).stdout)[0]
    return info


def test_corrupt_layer_is_named_and_nothing_half_written(
    dockyard_root: Path, tmp_path: Path
) -> None:
    info = _make_image(dockyard_root, tmp_path)
    layer = info["RootFS"]["Layers"][0]  # type: ignore[index]
    blob = dockyard_root / "blobs" / "sha256" / layer.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    os.chmod(blob, 0o644)
    blob.write_bytes(bytes(data))
    out = tmp_path / "out.tar"
    result = run_dockyard("save", "-o", str(out), "integrity:1", root=dockyard_root, check=False)
    assert result.returncode == 1
    assert layer in result.stderr and "corrupt" in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".out.tar*"))


@pytest.mark.slow
def test_truncated_blob_is_named(dockyard_root: Path, tmp_path: Path) -> None:
    info = _make_image(dockyard_root, tmp_path)
    layer = info["RootFS"]["Layers"][0]  # type: ignore[index]
    blob = dockyard_root / "blobs" / "sha256" / layer.removeprefix("sha256:")
    os.chmod(blob, 0o644)
    with open(blob, "r+b") as f:
        f.truncate(1000)
    result = run_dockyard(
        "save", "-o", str(tmp_path / "o.tar"), "integrity:1", root=dockyard_root, check=False
    )
    assert result.returncode == 1 and layer in result.stderr


@pytest.mark.slow
def test_truncated_archive_loads_nothing(dockyard_root: Path, tmp_path: Path) -> None:
    _make_image(dockyard_root, tmp_path)
    archive = tmp_path / "a.tar"
    run_dockyard("save", "-o", str(archive), "integrity:1", root=dockyard_root)
    other = tmp_path / "other-root"
    other.mkdir()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    result = run_dockyard("load", "-i", str(cut), root=other, check=False)
    assert result.returncode == 1
    assert "truncated" in result.stderr or "incomplete" in result.stderr
    assert run_dockyard("images", "-q", root=other).stdout.strip() == ""
    # the whole archive still loads afterwards
    assert (
        "Loaded image: integrity:1" in run_dockyard("load", "-i", str(archive), root=other).stdout
    )


def test_not_an_archive(dockyard_root: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"this is not a tar file at all" * 100)
    result = run_dockyard("load", "-i", str(junk), root=dockyard_root, check=False)
    assert result.returncode == 1 and "not a valid image archive" in result.stderr
    missing = run_dockyard(
        "load", "-i", str(tmp_path / "nope.tar"), root=dockyard_root, check=False
    )
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_unwritable_output_and_directory_input_are_clear_errors(
    dockyard_root: Path, tmp_path: Path
) -> None:
    _make_image(dockyard_root, tmp_path)
    out = run_dockyard(
        "save",
        "-o",
        str(tmp_path / "missing" / "x.tar"),
        "integrity:1",
        root=dockyard_root,
        check=False,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "cannot write" in out.stderr and "directory exists" in out.stderr
    loaded = run_dockyard("load", "-i", str(tmp_path), root=dockyard_root, check=False)
    assert loaded.returncode == 1 and "Traceback" not in loaded.stderr
    assert f"{tmp_path}: Is a directory" in loaded.stderr
