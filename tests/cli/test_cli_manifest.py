"""``dockyard manifest create|annotate|push|rm`` (docker manifest's local lists) and
``dockyard imagetools inspect|create`` (buildx's) against a real registry process: what they
print, their ``--format json``, exit codes and usage errors.

``manifest inspect`` is in tests/cli/test_cli_transfer.py with the other registry look-ups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import run_dockyard
from _infra.cli_contract import assert_help, assert_usage_error, rootfs_tar, run_in_process
from _infra.registry_server import RegistryProcess, start_registry

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"


@dataclass(frozen=True, slots=True)
class Pushed:
    host: str
    amd64: str  # HOST/cli/multi:amd64, a linux/amd64 image
    arm64: str  # HOST/cli/multi:arm64, a linux/arm64 image
    digests: dict[str, str]  # reference -> the digest of its manifest


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    with start_registry(tmp_path_factory.mktemp("registry")) as server:
        yield server


@pytest.fixture(scope="module")
def pushed(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """Two single-platform images of one repository, imported and pushed."""
    work = tmp_path_factory.mktemp("manifest-images")
    root = work / "store"
    digests = {}
    refs = []
    for arch in ("amd64", "arm64"):
        ref = f"{registry.host}/cli/multi:{arch}"
        tar = rootfs_tar(work / f"{arch}.tar", {"etc/arch": arch.encode()})
        run_dockyard("import", "--platform", f"linux/{arch}", tar, ref, root=root)
        run_dockyard("push", "-q", ref, root=root)
        digests[ref] = run_dockyard("digest", ref, root=root).stdout.strip()
        refs.append(ref)
    return Pushed(registry.host, refs[0], refs[1], digests)


def test_help_of_each_command(dockyard_root: Path) -> None:
    for command in ("create", "annotate", "push", "rm"):
        assert_help(dockyard_root, "manifest", command)
    for command in ("inspect", "create"):
        assert_help(dockyard_root, "imagetools", command)


def test_usage_errors_exit_125(dockyard_root: Path) -> None:
    for args, message in (
        (["manifest", "create", "reg/list:1"], "Missing argument 'MANIFESTS...'"),
        (["manifest", "create", "--bogus", "a", "b"], "No such option '--bogus'"),
        (["manifest", "annotate", "reg/list:1"], "Missing argument 'MANIFEST'"),
        (["manifest", "push"], "Missing argument 'MANIFEST_LIST'"),
        (["manifest", "push", "--format", "yaml", "reg/list:1"], "Invalid value for '--format'"),
        (["manifest", "rm"], "Missing argument 'MANIFEST_LISTS...'"),
        (["manifest", "bogus"], "No such command 'bogus'"),
        (["imagetools", "inspect"], "Missing argument 'REF'"),
        (["imagetools", "inspect", "--format", "yaml", "r/a:1"], "Invalid value for '--format'"),
        (["imagetools", "create", "reg/a:1"], "Missing option '-t'"),
        (["imagetools", "create", "-t", "reg/a:2"], "Missing argument 'SOURCES...'"),
        (
            ["imagetools", "create", "--annotation", "novalue", "-t", "reg/a:2", "reg/a:1"],
            "'novalue' is not KEY=VALUE",
        ),
        (["imagetools", "bogus"], "No such command 'bogus'"),
    ):
        assert_usage_error(run_in_process(*args, root=dockyard_root, check=False), message)


def test_a_list_that_was_never_created_exits_1(dockyard_root: Path) -> None:
    for args in (
        ["manifest", "annotate", "--arch", "arm64", "localhost:1/no/list:1", "localhost:1/a:1"],
        ["manifest", "push", "localhost:1/no/list:1"],
        ["manifest", "rm", "localhost:1/no/list:1"],
    ):
        out = run_in_process(*args, root=dockyard_root, check=False)
        assert out.returncode == 1, (args, out.stderr)
        assert out.stderr.startswith("Error: ") and "no/list" in out.stderr, (args, out.stderr)
        assert out.stdout == ""


@pytest.mark.slow
def test_manifest_create_annotate_push_json_and_rm(pushed: Pushed, dockyard_root: Path) -> None:
    listed = f"{pushed.host}/cli/multi:list"
    created = run_in_process("manifest", "create", listed, pushed.amd64, root=dockyard_root)
    assert created.stdout == f"Created manifest list {listed}\n"
    # a second create of the same list needs --amend, as docker's
    again = run_in_process(
        "manifest", "create", listed, pushed.arm64, root=dockyard_root, check=False
    )
    assert again.returncode == 1 and again.stderr.startswith("Error: "), again.stderr
    run_in_process("manifest", "create", "--amend", listed, pushed.arm64, root=dockyard_root)
    annotated = run_in_process(
        "manifest", "annotate", "--variant", "v8", listed, pushed.arm64, root=dockyard_root
    )
    assert annotated.stdout == ""
    out = run_in_process("manifest", "push", "--format", "json", listed, root=dockyard_root)
    doc = json.loads(out.stdout)
    assert doc["name"] == listed
    assert doc["mediaType"] in (OCI_INDEX, DOCKER_LIST)
    assert doc["digest"] == run_dockyard("digest", listed, root=dockyard_root).stdout.strip()
    assert doc["size"] > 0
    # what the registry holds: both images, with the platforms given
    index = json.loads(run_dockyard("manifest", "inspect", listed, root=dockyard_root).stdout)
    platforms = {m["digest"]: m["platform"] for m in index["manifests"]}
    assert platforms[pushed.digests[pushed.amd64]]["architecture"] == "amd64"
    arm = platforms[pushed.digests[pushed.arm64]]
    assert (arm["architecture"], arm.get("variant")) == ("arm64", "v8")
    # text output: the digest alone; rm forgets the local list
    text = run_in_process("manifest", "push", listed, root=dockyard_root)
    assert text.stdout == f"{doc['digest']}\n"
    assert run_in_process("manifest", "rm", listed, root=dockyard_root).stdout == ""
    gone = run_in_process("manifest", "push", listed, root=dockyard_root, check=False)
    assert gone.returncode == 1, gone.stderr


@pytest.mark.slow
def test_imagetools_create_and_inspect_json(pushed: Pushed, dockyard_root: Path) -> None:
    target = f"{pushed.host}/cli/multi:both"
    sources = (pushed.amd64, pushed.arm64)
    dry = run_in_process(
        "imagetools", "create", "--dry-run", "-t", target, *sources, root=dockyard_root
    )
    planned = json.loads(dry.stdout)
    assert {m["digest"] for m in planned["manifests"]} == set(pushed.digests.values())
    missing = run_dockyard("digest", target, root=dockyard_root, check=False)
    assert missing.returncode != 0  # a dry run pushes nothing

    out = run_in_process(
        "imagetools", "create", "--format", "json", "--annotation", "index:org.example.k=v",
        "-t", target, *sources, root=dockyard_root,
    )  # fmt: skip
    created = json.loads(out.stdout)
    assert created["name"] == target and created["size"] > 0
    assert created["digest"] == run_dockyard("digest", target, root=dockyard_root).stdout.strip()
    note = ("--annotation", "index:org.example.k=v")
    text = run_in_process("imagetools", "create", *note, "-t", target, *sources, root=dockyard_root)
    assert text.stdout == f"{target}@{created['digest']}\n"  # the same index again

    inspected = json.loads(
        run_in_process("imagetools", "inspect", "--format", "json", target, root=dockyard_root)
        .stdout
    )  # fmt: skip
    assert inspected["name"] == target and inspected["digest"] == created["digest"]
    assert inspected["mediaType"] in (OCI_INDEX, DOCKER_LIST)
    children = {m["digest"]: m for m in inspected["manifests"]}
    assert set(children) == set(pushed.digests.values())
    assert {m["platform"]["architecture"] for m in children.values()} == {"amd64", "arm64"}
    for digest, child in children.items():
        assert child["name"] == f"{pushed.host}/cli/multi@{digest}"
    raw = run_in_process("imagetools", "inspect", "--raw", target, root=dockyard_root)
    assert json.loads(raw.stdout)["annotations"] == {"org.example.k": "v"}
    # a reference the registry does not hold: exit 1, one error line
    absent = run_in_process(
        "imagetools", "inspect", f"{pushed.host}/cli/multi:nosuch", root=dockyard_root, check=False
    )
    assert absent.returncode == 1 and absent.stderr.startswith("Error: "), absent.stderr
    assert absent.stdout == ""
