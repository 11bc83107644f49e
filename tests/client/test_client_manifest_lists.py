"""Manifest lists by hand, against a real registry: docker manifest's verbs (``manifest create``
a local draft, ``annotate`` a platform, ``push`` it as one index, ``rm``; an existing draft only
with ``--amend``; an index as a source refused) and buildx's ``imagetools create``, which joins an amd64 and an arm64 image from two repositories of a
real registry into one index under a third, registry-side (layers mounted, nothing pulled into
the store); skopeo reads the index and copies every platform; ``imagetools inspect`` lists the
platforms as buildx prints them. Two sources of one platform, and a digest as the target, are
refused before anything is pushed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _infra._cli import run_dockyard
from _infra._images import make_busybox_rootfs, tar_rootfs
from _infra._process import run_command
from _infra._registry import RunningRegistry, docker_registry, dockyard_registry
from _infra.arm64_images import arm64_busybox_tar

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningRegistry, Path]]:
    work = tmp_path_factory.mktemp("imagetools")
    store = work / "store"
    amd = tar_rootfs(make_busybox_rootfs(work / "amd"), work / "amd.tar")
    arm = arm64_busybox_tar(work)
    other = make_busybox_rootfs(work / "other")
    (other / "etc" / "other").write_text("another amd64 image\n")
    other_tar = tar_rootfs(other, work / "other.tar")
    with dockyard_registry(work / "registry") as registry:
        host = registry.host
        run_dockyard("import", amd, f"{host}/a/amd:1", root=store)
        run_dockyard("import", "--platform", "linux/arm64", arm, f"{host}/b/arm:1", root=store)
        run_dockyard("import", other_tar, f"{host}/c/amd:2", root=store)
        for ref in (f"{host}/a/amd:1", f"{host}/b/arm:1", f"{host}/c/amd:2"):
            run_dockyard("push", ref, root=store)
        yield registry, store


def test_create_joins_two_platforms_into_one_index(
    pushed: tuple[RunningRegistry, Path], tmp_path: Path
) -> None:
    registry, _ = pushed
    host = registry.host
    empty = tmp_path / "empty-store"
    done = run_dockyard("imagetools", "create", "-t", f"{host}/team/multi:1",
                        f"{host}/a/amd:1", f"{host}/b/arm:1", root=empty)  # fmt: skip
    digest = done.stdout.strip().rsplit("@", 1)[1]
    assert not (empty / "blobs").exists() or not any((empty / "blobs").rglob("*"))
    raw = json.loads(
        run_command(
            ["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{host}/team/multi:1"]
        ).stdout
    )
    assert [(m["platform"]["os"], m["platform"]["architecture"]) for m in raw["manifests"]] == [
        ("linux", "amd64"),
        ("linux", "arm64"),
    ]
    run_command(["skopeo", "copy", "--all", "--src-tls-verify=false",
                 f"docker://{host}/team/multi:1", f"oci:{tmp_path / 'layout'}:multi"])  # fmt: skip
    shown = run_dockyard("imagetools", "inspect", f"{host}/team/multi:1", root=empty).stdout
    assert f"Digest:    {digest}" in shown
    assert "Platform:  linux/amd64" in shown and "Platform:  linux/arm64" in shown
    as_json = json.loads(
        run_dockyard(
            "imagetools", "inspect", "--format", "json", f"{host}/team/multi:1", root=empty
        ).stdout
    )
    assert as_json["digest"] == digest and len(as_json["manifests"]) == 2


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """distribution 2.8.2 (Debian's docker-registry), a registry process of its own."""
    with docker_registry(tmp_path_factory.mktemp("imagetools-distribution")) as running:
        yield running


def _raw_index(ref: str) -> dict[str, Any]:
    raw = run_command(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"])
    index: dict[str, Any] = json.loads(raw.stdout)
    return index


def _platforms(index: dict[str, Any]) -> list[str]:
    return [
        "/".join(filter(None, (p["os"], p["architecture"], p.get("variant"))))
        for p in (m["platform"] for m in index["manifests"])
    ]


def test_create_across_registries_with_an_index_as_a_source(
    pushed: tuple[RunningRegistry, Path], distribution: RunningRegistry, tmp_path: Path
) -> None:
    """Sources in one registry process and the target in another (blobs copied through, as
    nothing can be mounted across registries, and still none lands in the store): an index in
    dockyard's registry merged with an image in distribution 2.8.2 into an index there, then
    that index as the only source back into dockyard's registry. skopeo copies every platform
    of both results (every blob is there); ``imagetools inspect`` lists the platforms."""
    registry, store = pushed
    ours, theirs = registry.host, distribution.host
    empty = tmp_path / "empty-store"
    pair = f"{ours}/x/pair:1"
    run_dockyard("imagetools", "create", "-t", pair, f"{ours}/a/amd:1", f"{ours}/b/arm:1",
                 root=empty)  # fmt: skip
    children = _raw_index(pair)["manifests"]
    # a third platform, in distribution (the registry never runs it: any tree will do)
    v7 = tar_rootfs(make_busybox_rootfs(tmp_path / "v7"), tmp_path / "v7.tar")
    run_dockyard("import", "--platform", "linux/arm/v7", v7, f"{theirs}/v7/img:1", root=store)
    run_dockyard("push", f"{theirs}/v7/img:1", root=store)

    merged = f"{theirs}/merged/all:1"
    done = run_dockyard("imagetools", "create", "-t", merged, pair, f"{theirs}/v7/img:1",
                        root=empty)  # fmt: skip
    digest = done.stdout.strip().rsplit("@", 1)[1]
    index = _raw_index(merged)
    assert _platforms(index) == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    assert index["manifests"][:2] == children  # the index's entries, as they were
    run_command(["skopeo", "copy", "--all", "--src-tls-verify=false",
                 f"docker://{merged}", f"oci:{tmp_path / 'merged'}:all"])  # fmt: skip
    shown = run_dockyard("imagetools", "inspect", merged, root=empty).stdout
    assert f"Digest:    {digest}" in shown
    for platform in ("linux/amd64", "linux/arm64", "linux/arm/v7"):
        assert f"Platform:  {platform}" in shown

    back = f"{ours}/back/all:1"
    again = run_dockyard("imagetools", "create", "-t", back, merged, root=empty)
    assert again.stdout.strip() == f"{back}@{digest}"  # the same entries: the same index
    assert _platforms(_raw_index(back)) == _platforms(index)
    run_command(["skopeo", "copy", "--all", "--src-tls-verify=false",
                 f"docker://{back}", f"oci:{tmp_path / 'back'}:all"])  # fmt: skip
    as_json = json.loads(
        run_dockyard("imagetools", "inspect", "--format", "json", back, root=empty).stdout
    )
    assert [m["platform"]["architecture"] for m in as_json["manifests"]] == [
        "amd64",
        "arm64",
        "arm",
    ]
    assert not (empty / "blobs").exists() or not any((empty / "blobs").rglob("*"))


def test_one_platform_twice_and_a_digest_target_are_refused(
    pushed: tuple[RunningRegistry, Path],
) -> None:
    registry, store = pushed
    host = registry.host
    twice = run_dockyard("imagetools", "create", "-t", f"{host}/team/bad:1",
                         f"{host}/a/amd:1", f"{host}/a/amd:1", f"{host}/b/arm:1",
                         root=store, check=False)  # fmt: skip
    assert twice.returncode == 0  # the same image twice is one entry
    clash = run_dockyard("imagetools", "create", "-t", f"{host}/team/bad:2",
                         f"{host}/c/amd:2", f"{host}/a/amd:1", f"{host}/b/arm:1", root=store,
                         check=False)  # fmt: skip
    assert clash.returncode != 0 and "linux/amd64" in clash.stderr
    tags = run_dockyard("tags", f"{host}/team/bad", root=store).stdout.split()
    assert tags == ["1"]
    by_digest = run_dockyard("imagetools", "create", "-t", f"{host}/team/bad@sha256:{'0' * 64}",
                             f"{host}/a/amd:1", root=store, check=False)  # fmt: skip
    assert by_digest.returncode != 0 and "names a digest" in by_digest.stderr


def test_manifest_create_annotate_push(pushed: tuple[RunningRegistry, Path]) -> None:
    registry, _ = pushed
    host = registry.host
    lists = registry.root / "lists-store"
    name = f"{host}/team/listed:1"
    amd, arm = f"{host}/a/amd:1", f"{host}/b/arm:1"
    created = run_dockyard("manifest", "create", name, amd, root=lists)
    assert created.stdout == f"Created manifest list {name}\n"
    again = run_dockyard("manifest", "create", name, arm, root=lists, check=False)
    assert again.returncode != 0
    assert "refusing to amend an existing manifest list with no --amend flag" in again.stderr
    run_dockyard("manifest", "create", "--amend", name, arm, root=lists)
    run_dockyard("manifest", "annotate", "--variant", "v8", name, arm, root=lists)
    index = run_dockyard("manifest", "create", "--amend", name, f"{host}/team/multi:1",
                         root=lists, check=False)  # fmt: skip
    assert index.returncode != 0 and "is a manifest list" in index.stderr
    digest = run_dockyard("manifest", "push", "--purge", name, root=lists).stdout.strip()
    raw = json.loads(
        run_command(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{name}"]).stdout
    )
    platforms = [
        (m["platform"]["architecture"], m["platform"].get("variant")) for m in raw["manifests"]
    ]
    assert platforms == [("amd64", None), ("arm64", "v8")]
    shown = run_dockyard("imagetools", "inspect", name, root=lists).stdout
    assert f"Digest:    {digest}" in shown and "Platform:  linux/arm64/v8" in shown
    gone = run_dockyard("manifest", "push", name, root=lists, check=False)  # purged
    assert gone.returncode != 0 and "No such manifest" in gone.stderr


def test_annotate_validates_os_arch_and_variant(pushed: tuple[RunningRegistry, Path]) -> None:
    """docker's unsupported os/arch pairs are refused, and variants an architecture does not
    have; a refused annotation leaves the draft as it was; --os/--arch reach the pushed index."""
    registry, _ = pushed
    host = registry.host
    lists = registry.root / "annotate-store"
    name = f"{host}/team/annotated:1"
    amd, arm = f"{host}/a/amd:1", f"{host}/b/arm:1"
    run_dockyard("manifest", "create", name, amd, arm, root=lists)
    for args, message in (
        (["--os", "plan9", "--arch", "bogus"], "unsupported os/arch combination: plan9/bogus"),
        (["--os", "windows"], "unsupported os/arch combination: windows/arm64"),
        (["--arch", "aarch64"], "unsupported os/arch combination: linux/aarch64"),
        (["--os", "bogus"], "unsupported os/arch combination: bogus/arm64"),
        (["--variant", "v7"], "unsupported variant 'v7' for linux/arm64"),
        (["--arch", "s390x", "--variant", "v8"], "unsupported variant 'v8' for linux/s390x"),
    ):
        done = run_dockyard("manifest", "annotate", *args, name, arm, root=lists, check=False)
        assert done.returncode == 1, (args, done.stderr)
        assert done.stderr.startswith(f"Error: manifest entry for image has {message}"), args
        assert len(done.stderr.splitlines()) == 1, done.stderr
    # the same entry, annotated as docker takes it: another os/arch, then a variant of it
    run_dockyard("manifest", "annotate", "--os", "linux", "--arch", "arm", name, arm, root=lists)
    run_dockyard("manifest", "annotate", "--variant", "v7", name, arm, root=lists)
    run_dockyard("manifest", "push", "--purge", name, root=lists)
    raw = json.loads(
        run_command(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{name}"]).stdout
    )
    assert [m["platform"] for m in raw["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm", "os": "linux", "variant": "v7"},
    ]


def test_drafts_of_different_names_never_share_a_file(tmp_path: Path) -> None:
    from dockyard.client.manifest_lists import ManifestLists
    from dockyard.errors import InvalidArgument
    from dockyard.reference import Reference

    lists = ManifestLists(tmp_path)
    one, two = Reference.parse("host:5000/a_b/c:1"), Reference.parse("host:5000/a/b_c:1")
    assert lists._path(one) != lists._path(two)
    lists.directory.mkdir()
    lists._path(one).write_text("{not json")
    with pytest.raises(InvalidArgument, match="cannot be read"):
        lists.get(one)
