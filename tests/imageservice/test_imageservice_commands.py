"""docker's local image commands, end to end through the CLI on a real store (no daemon)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import run_in_process


def _rootfs(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    root = tmp_path / name
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _import(root: Path, src: Path, ref: str | None, *changes: str) -> str:
    args = ["import"]
    for change in changes:
        args += ["--change", change]
    args.append(str(src))
    if ref:
        args.append(ref)
    return str(run_in_process(*args, root=root).stdout.strip())


def _images_json(root: Path, *args: str) -> list[dict[str, str]]:
    out = run_in_process("images", "--format", "json", "--no-trunc", *args, root=root).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture
def two_images(dockyard_root: Path, tmp_path: Path) -> tuple[str, str]:
    a = _import(
        dockyard_root,
        _rootfs(tmp_path, "a", {"a.txt": b"a" * 5000}),
        "app:1",
        "LABEL tier=web",
        'CMD ["/a"]',
    )
    b = _import(
        dockyard_root,
        _rootfs(tmp_path, "b", {"b.txt": b"b" * 9000}),
        "tools/db:2",
        "LABEL tier=db",
        "ENV X=1",
    )
    return a, b


def test_import_directory_and_tarball(dockyard_root: Path, tmp_path: Path) -> None:
    src = _rootfs(tmp_path, "r", {"etc/hello": b"hi\n", "bin/x": b"#!/bin/sh\n"})
    image_id = _import(dockyard_root, src, "imported:dir", 'CMD ["/bin/x"]', "ENV A=b")
    assert image_id.startswith("sha256:")
    tarball = tmp_path / "r.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(src, arcname=".")
    tar_id = _import(dockyard_root, tarball, "imported:tgz")
    info = json.loads(run_dockyard("inspect", "imported:dir", root=dockyard_root).stdout)[0]
    assert info["Id"] == image_id
    assert info["Config"]["Cmd"] == ["/bin/x"]
    assert info["Config"]["Env"] == ["A=b"]
    assert info["RepoTags"] == ["imported:dir"]
    assert len(info["RootFS"]["Layers"]) == 1
    tar_info = json.loads(run_dockyard("inspect", "imported:tgz", root=dockyard_root).stdout)[0]
    assert tar_info["Id"] == tar_id
    # the layer of a gzip tarball is stored as the uncompressed tar: digest == diff_id
    manifest_hex = tar_info["Descriptor"]["digest"].removeprefix("sha256:")
    manifest = json.loads((dockyard_root / "blobs" / "sha256" / manifest_hex).read_bytes())
    assert [layer["digest"] for layer in manifest["layers"]] == tar_info["RootFS"]["Layers"]


def test_import_from_stdin_and_bad_change(dockyard_root: Path, tmp_path: Path) -> None:
    src = _rootfs(tmp_path, "s", {"f": b"x"})
    tarball = tmp_path / "s.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(src, arcname=".")
    out = run_dockyard(
        "import", "-", "stdin:1", root=dockyard_root, input=tarball.read_bytes(), text=False
    ).stdout
    assert out.strip().startswith(b"sha256:")
    bad = run_dockyard(
        "import", "--change", "RUN echo", str(tarball), root=dockyard_root, check=False
    )
    assert bad.returncode == 1
    assert "RUN is not a valid change command" in bad.stderr
    missing = run_dockyard("import", str(tmp_path / "nope.tar"), root=dockyard_root, check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr


def test_images_table_and_filters(dockyard_root: Path, two_images: tuple[str, str]) -> None:
    a, b = two_images
    table = run_dockyard("images", root=dockyard_root).stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(line.startswith("app ") and a.removeprefix("sha256:")[:12] in line for line in table)
    assert {i["Repository"] for i in _images_json(dockyard_root)} == {"app", "tools/db"}
    assert [i["ID"] for i in _images_json(dockyard_root, "--filter", "label=tier=db")] == [b]
    assert [i["ID"] for i in _images_json(dockyard_root, "--filter", "reference=app")] == [a]
    assert [i["ID"] for i in _images_json(dockyard_root, "tools/*")] == [b]
    assert [i["ID"] for i in _images_json(dockyard_root, "-f", "since=app:1")] == [b]
    assert [i["ID"] for i in _images_json(dockyard_root, "-f", "before=tools/db:2")] == [a]
    quiet = run_dockyard("images", "-q", root=dockyard_root).stdout.split()
    assert sorted(quiet) == sorted(x.removeprefix("sha256:")[:12] for x in (a, b))
    templ = run_dockyard(
        "images", "--format", "{{.Repository}}:{{.Tag}}", root=dockyard_root
    ).stdout
    assert sorted(templ.split()) == ["app:1", "tools/db:2"]
    bad = run_dockyard("images", "--filter", "bogus=1", root=dockyard_root, check=False)
    assert bad.returncode == 1 and "invalid filter 'bogus'" in bad.stderr


@pytest.mark.slow
def test_tag_and_rmi_semantics(dockyard_root: Path, two_images: tuple[str, str]) -> None:
    a, _ = two_images
    run_dockyard("tag", "app:1", "app:latest", root=dockyard_root)
    run_dockyard("tag", a.removeprefix("sha256:")[:10], "other/app:x", root=dockyard_root)
    assert len([i for i in _images_json(dockyard_root) if i["ID"] == a]) == 3
    # by ID while other repositories still use it: refused without -f, like docker
    refused = run_dockyard("rmi", a.removeprefix("sha256:")[:12], root=dockyard_root, check=False)
    assert refused.returncode == 1
    assert "must be forced" in refused.stderr and "multiple repositories" in refused.stderr
    # by name: only that tag goes
    out = run_dockyard("rmi", "app:latest", root=dockyard_root).stdout
    assert out.strip() == "Untagged: app:latest"
    out = run_dockyard("rmi", "other/app:x", root=dockyard_root).stdout
    assert out.strip() == "Untagged: other/app:x"
    # the last tag takes the image with it
    out = run_dockyard("rmi", "app:1", root=dockyard_root).stdout.splitlines()
    assert out == ["Untagged: app:1", f"Deleted: {a}"]
    missing = run_dockyard("rmi", "app:1", root=dockyard_root, check=False)
    assert missing.returncode == 1 and "No such image: app:1" in missing.stderr
    bad = run_dockyard("tag", "tools/db:2", "Bad/Name", root=dockyard_root, check=False)
    assert bad.returncode == 1 and "invalid reference format" in bad.stderr


def test_rmi_force_by_id(dockyard_root: Path, two_images: tuple[str, str]) -> None:
    _, b = two_images
    run_dockyard("tag", "tools/db:2", "mirror/db:2", root=dockyard_root)
    out = run_dockyard("rmi", "-f", b, root=dockyard_root).stdout.splitlines()
    assert (
        "Untagged: tools/db:2" in out and "Untagged: mirror/db:2" in out and f"Deleted: {b}" in out
    )
    assert [i["ID"] for i in _images_json(dockyard_root)] == [two_images[0]]


@pytest.mark.slow
def test_prune_dangling_and_all(
    dockyard_root: Path, tmp_path: Path, two_images: tuple[str, str]
) -> None:
    a, b = two_images
    # re-tag app:1 onto a new image: the old one becomes dangling
    c = _import(dockyard_root, _rootfs(tmp_path, "c", {"c.txt": b"c" * 70000}), "app:1")
    dangling = _images_json(dockyard_root, "--filter", "dangling=true")
    assert [i["ID"] for i in dangling] == [a]
    assert dangling[0]["Repository"] == "<none>"
    before = run_dockyard("system", "df", "--format", "json", root=dockyard_root).stdout
    assert json.loads(before)["TotalCount"] == "3"
    out = run_dockyard("image", "prune", "-f", root=dockyard_root).stdout
    assert f"deleted: {a}" in out and "Total reclaimed space:" in out
    assert "0B" not in out.splitlines()[-1]
    assert {i["ID"] for i in _images_json(dockyard_root)} == {b, c}
    # -a with a label filter takes only what matches
    run_dockyard("image", "prune", "-a", "-f", "--filter", "label=tier=db", root=dockyard_root)
    assert {i["ID"] for i in _images_json(dockyard_root)} == {c}
    # until=1h: only images created more than an hour ago — none here
    run_dockyard("image", "prune", "-a", "-f", "--filter", "until=1h", root=dockyard_root)
    assert {i["ID"] for i in _images_json(dockyard_root)} == {c}
    out = run_dockyard("image", "prune", "-a", "-f", "--format", "json", root=dockyard_root).stdout
    assert json.loads(out)["ImagesDeleted"]
    assert _images_json(dockyard_root) == []
    blobs = list((dockyard_root / "blobs" / "sha256").iterdir())
    assert blobs == []


def test_prune_refuses_without_confirmation(
    dockyard_root: Path, two_images: tuple[str, str]
) -> None:
    out = run_dockyard("image", "prune", "-a", root=dockyard_root, input="n\n").stdout
    assert "WARNING! This will remove all images" in out
    assert len(_images_json(dockyard_root)) == 2


@pytest.mark.slow
def test_history_and_inspect_format(dockyard_root: Path, two_images: tuple[str, str]) -> None:
    a, _ = two_images
    rows = run_dockyard("history", "app:1", root=dockyard_root).stdout.splitlines()
    assert rows[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert rows[1].startswith(a.removeprefix("sha256:")[:12])
    hist = run_dockyard(
        "history", "--format", "json", "--no-trunc", "app:1", root=dockyard_root
    ).stdout
    entry = json.loads(hist.splitlines()[0])
    assert entry["ID"] == a and "Imported from" in entry["Comment"]
    assert run_dockyard("inspect", "-f", "{{.Id}}", "app:1", root=dockyard_root).stdout.strip() == a
    labels = run_dockyard(
        "inspect", "--format", "{{json .Config.Labels}}", "app:1", root=dockyard_root
    )
    assert json.loads(labels.stdout) == {"tier": "web"}
    missing = run_dockyard("inspect", "nope", root=dockyard_root, check=False)
    assert missing.returncode == 1 and "No such image: nope" in missing.stderr
    assert json.loads(missing.stdout) == []


def test_system_df_and_info(dockyard_root: Path, two_images: tuple[str, str]) -> None:
    table = run_dockyard("system", "df", root=dockyard_root).stdout.splitlines()
    assert table[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert table[1].split()[:3] == ["Images", "2", "2"]
    info = json.loads(run_dockyard("info", "--format", "json", root=dockyard_root).stdout)
    assert info["Images"] == 2 and info["DockyardRootDir"] == str(dockyard_root)
    assert run_dockyard("info", "-f", "{{.Images}}", root=dockyard_root).stdout.strip() == "2"


def test_usage_error_exit_code(dockyard_root: Path) -> None:
    bad = run_dockyard("images", "--bogus", root=dockyard_root, check=False)
    assert bad.returncode == 125
