"""The shared fixtures do what they promise: a live dockerd, runnable base images, the CLI."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from _infra import (
    DOCKER,
    MULTI,
    ROOT_ENV,
    BuiltImage,
    CommandFailed,
    DockerDaemon,
    make_busybox_rootfs,
    pattern_bytes,
    run_command,
    run_dockyard,
    save_image,
    tar_rootfs,
)


def inspect(dockerd: DockerDaemon, ref: str) -> dict[str, Any]:
    data = json.loads(dockerd.run("image", "inspect", ref).stdout)
    assert isinstance(data, list) and len(data) == 1
    result: dict[str, Any] = data[0]
    return result


@pytest.mark.docker
def test_dockerd_answers(dockerd: DockerDaemon) -> None:
    version = dockerd.run("version", "--format", "{{.Server.Version}}").stdout.strip()
    assert version
    assert dockerd.host.startswith("unix://") or "://" in dockerd.host
    assert dockerd.env["DOCKER_HOST"] == dockerd.host
    if dockerd.host.startswith("unix://"):
        assert len(dockerd.host.removeprefix("unix://")) < 108


@pytest.mark.docker
def test_docker_failure_shows_output(dockerd: DockerDaemon) -> None:
    result = dockerd.run("image", "inspect", "dockyard-test/no-such-image:x", check=False)
    assert result.returncode != 0
    with pytest.raises(CommandFailed) as info:
        dockerd.run("image", "inspect", "dockyard-test/no-such-image:x")
    assert "no-such-image" in str(info.value)
    assert DOCKER in str(info.value)


@pytest.mark.docker
def test_busybox_image_runs(dockerd: DockerDaemon, busybox_image: BuiltImage) -> None:
    ref, image_id = busybox_image
    assert ref == "dockyard-test/busybox:latest"
    assert image_id.startswith("sha256:") and len(image_id) == 71
    out = dockerd.run("run", "--rm", "--network", "none", ref, "echo", "hi").stdout
    assert out == "hi\n"


@pytest.mark.docker
def test_busybox_image_shape(dockerd: DockerDaemon, busybox_image: BuiltImage) -> None:
    info = inspect(dockerd, busybox_image.ref)
    assert info["Id"] == busybox_image.id
    assert info["Config"]["Cmd"] == ["/bin/sh"]
    assert len(info["RootFS"]["Layers"]) == 1
    # The default command is a shell reading stdin; users and /tmp are there.
    script = "id -un; ls -ld /tmp | cut -c1-10; env | grep -c PATH"
    out = dockerd.run("run", "--rm", "-i", "--network", "none", busybox_image.ref, input=script)
    assert out.stdout.split() == ["root", "drwxrwxrwt", "1"]


@pytest.mark.docker
def test_busybox_layer_is_reproducible(
    dockerd: DockerDaemon, busybox_image: BuiltImage, tmp_path: Path
) -> None:
    # docker import keeps the tar as given, so its diff_id is the sha256 of a rebuilt tar.
    tarball = tar_rootfs(make_busybox_rootfs(tmp_path / "rootfs"), tmp_path / "rootfs.tar")
    digest = "sha256:" + hashlib.sha256(tarball.read_bytes()).hexdigest()
    assert inspect(dockerd, busybox_image.ref)["RootFS"]["Layers"] == [digest]


@pytest.mark.docker
def test_multilayer_image_config(
    dockerd: DockerDaemon, busybox_image: BuiltImage, multilayer_image: BuiltImage
) -> None:
    assert multilayer_image.ref == "dockyard-test/multi:latest"
    info = inspect(dockerd, multilayer_image.ref)
    base = inspect(dockerd, busybox_image.ref)
    layers = info["RootFS"]["Layers"]
    assert len(layers) == MULTI.layer_count
    assert layers[0] == base["RootFS"]["Layers"][0]
    assert len(set(layers)) == len(layers)
    config = info["Config"]
    for key, value in MULTI.env:
        assert f"{key}={value}" in config["Env"]
    assert config["Labels"] == dict(MULTI.labels)
    assert config["Entrypoint"] == list(MULTI.entrypoint)
    assert config["Cmd"] == list(MULTI.cmd)
    assert config["WorkingDir"] == MULTI.workdir
    out = dockerd.run("run", "--rm", "--network", "none", multilayer_image.ref).stdout
    assert out == MULTI.small_text


@pytest.mark.docker
def test_multilayer_image_layers(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, tmp_path: Path
) -> None:
    archive = save_image(dockerd, multilayer_image.ref, tmp_path / "multi.tar")
    with tarfile.open(archive) as outer:
        manifest_file = outer.extractfile("manifest.json")
        assert manifest_file is not None
        manifest = json.load(manifest_file)
        layer_paths = manifest[0]["Layers"]
        assert len(layer_paths) == MULTI.layer_count
        contents: list[dict[str, tarfile.TarInfo]] = []
        data: dict[str, bytes] = {}
        for layer_path in layer_paths:
            layer_file = outer.extractfile(layer_path)
            assert layer_file is not None
            with tarfile.open(fileobj=layer_file, mode="r|") as layer:
                members: dict[str, tarfile.TarInfo] = {}
                for member in layer:
                    name = member.name.rstrip("/")
                    members[name] = member
                    if member.isfile() and name.startswith("data/"):
                        extracted = layer.extractfile(member)
                        assert extracted is not None
                        data[name] = extracted.read()
                contents.append(members)

    base, copy1, copy2, run = contents
    assert base["bin/busybox"].isfile() and base["bin/sh"].issym()
    assert base["bin/sh"].linkname == "busybox"
    assert {"etc/passwd", "etc/group", "tmp"} <= set(base)

    assert data["data/small.txt"] == MULTI.small_text.encode()
    assert copy1["data/medium.bin"].size == MULTI.medium_size
    assert data["data/medium.bin"] == pattern_bytes(MULTI.medium_size, "medium")
    assert "data/large.bin" not in copy1
    assert copy2["data/large.bin"].size == MULTI.large_size
    assert data["data/large.bin"] == pattern_bytes(MULTI.large_size, "large")

    symlink = run["data/links/small-symlink"]
    assert symlink.issym() and symlink.linkname == "../small.txt"
    pair = [run["data/links/run.txt"], run["data/links/run-hardlink.txt"]]
    hard = [m for m in pair if m.islnk()]
    regular = [m for m in pair if m.isfile()]
    assert len(hard) == 1 and len(regular) == 1
    assert hard[0].linkname == regular[0].name
    assert regular[0].mode & 0o777 == 0o750
    assert run["data/empty"].isdir()


@pytest.mark.parametrize("tool", ["skopeo", "umoci"])
def test_interop_tools_run(tool: str) -> None:
    out = run_command([tool, "--version"]).stdout
    assert f"{tool} version" in out


def test_dockyard_root_is_fresh(dockyard_root: Path) -> None:
    assert dockyard_root.is_dir()
    assert list(dockyard_root.iterdir()) == []
    assert os.environ[ROOT_ENV] == str(dockyard_root)


def test_run_dockyard(dockyard_root: Path) -> None:
    result = run_dockyard("--version", root=dockyard_root)
    assert result.stdout.startswith("dockyard, version ")
    raw = run_dockyard("--version", root=dockyard_root, text=False)
    assert isinstance(raw.stdout, bytes) and raw.stdout.startswith(b"dockyard")
    failed = run_dockyard("no-such-command", root=dockyard_root, check=False)
    assert failed.returncode != 0
    assert "no-such-command" in failed.stderr
    with pytest.raises(CommandFailed, match="no-such-command"):
        run_dockyard("no-such-command", root=dockyard_root)


def _makefile_variable(name: str) -> list[str]:
    """The words of ``NAME := …`` in the Makefile (the first assignment)."""
    makefile = Path(__file__).resolve().parent.parent / "Makefile"
    for line in makefile.read_text().splitlines():
        key, sep, value = line.partition(":=")
        if sep and key.strip() == name:
            return value.split()
    raise AssertionError(f"the Makefile assigns no {name}")


def test_readme_names_every_package_make_test_installs() -> None:
    """The README's "Set up" list of Debian packages is the Makefile's APT_PACKAGES."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    packages = _makefile_variable("APT_PACKAGES")
    assert packages
    missing = [p for p in packages if f"`{p}`" not in setup]
    assert missing == [], f"README's Set up section does not name {missing}"


def _make_dry_run(target: str) -> str:
    """The commands ``make TARGET`` would run in a fresh clone (-B: as if nothing were built)."""
    repo = Path(__file__).resolve().parent.parent
    done = run_command(["make", "-n", "-B", target], cwd=repo, timeout=60)
    return str(done.stdout)


def test_make_serve_syncs_only_the_runtime_dependencies() -> None:
    """``make serve`` installs what the registry needs, not pytest, mypy or syft; ``make test``
    and ``make lint`` get the dev group."""
    serve_syncs = [line for line in _make_dry_run("serve").splitlines() if " sync " in line]
    assert serve_syncs and all("--no-dev" in line for line in serve_syncs), serve_syncs
    for target in ("test", "lint"):
        syncs = [line for line in _make_dry_run(target).splitlines() if " sync " in line]
        assert any("--no-dev" not in line for line in syncs), (target, syncs)
