"""The one image-archive reader: ``sbom``, ``load`` and ``copy`` read a docker-archive from real
``docker save`` and an oci-archive from real ``skopeo copy`` through it and agree on every
digest; damaged archives (cut short, or naming a member they lack) fail naming the archive and
the member, and leave nothing in the store."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from _infra import BuiltImage, DockerDaemon, run_command, run_dockyard, save_image
from _infra.analyze_helpers import write_archive
from dockyard.client import RegistryClient
from dockyard.errors import DockyardError
from dockyard.image.archive import ArchiveFormat, ArchiveImage, open_archive, save_archive
from dockyard.image.load import load_archive
from dockyard.image.open import open_source
from dockyard.image.store import StoreSource
from dockyard.image.transports import parse_location
from dockyard.imageservice import import_image
from dockyard.local import LocalStore
from dockyard.reference import Reference
from dockyard.scan import open_source as scan_source

# --- helpers ---------------------------------------------------------------------------------


def _inspect(root: Path, ref: str) -> dict[str, object]:
    data = json.loads(run_dockyard("inspect", ref, root=root).stdout)
    assert isinstance(data, list) and len(data) == 1
    obj: dict[str, object] = data[0]
    return obj


def _manifest_digest(root: Path, ref: str) -> str:
    descriptor = _inspect(root, ref)["Descriptor"]
    assert isinstance(descriptor, dict)
    return str(descriptor["digest"])


def _sbom_source(archive: str, root: Path) -> dict[str, object]:
    out = run_dockyard("sbom", archive, "--format", "json", root=root).stdout
    source: dict[str, object] = json.loads(out)["source"]
    return source


def _diff_ids(source: dict[str, object]) -> list[str]:
    layers = source["layers"]
    assert isinstance(layers, list)
    return [str(layer["diffID"]) for layer in layers]


def _assert_store_empty(root: Path) -> None:
    """No image, no tag, no blob: nothing of a failed load is left (not even for a GC)."""
    with LocalStore.open(root) as store:
        assert store.images() == [] and store.tags() == []
    assert json.loads((root / "index.json").read_text())["manifests"] == []
    assert [p for p in (root / "blobs").rglob("*") if p.is_file()] == []
    assert list((root / "ingest").iterdir()) == []


def _largest_member(archive: Path) -> tarfile.TarInfo:
    with tarfile.open(archive) as tar:
        return max((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.size)


def _without(archive: Path, out: Path, drop: str) -> Path:
    """A copy of ``archive`` without the member ``drop`` (everything else byte for byte)."""
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            if member.name != drop:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    return out


def _saved(fmt: ArchiveFormat) -> Callable[[Path], Path]:
    """An archive as ``dockyard save --format FMT`` writes it, of an imported image."""

    def make(tmp_path: Path) -> Path:
        rootfs = tmp_path / "rootfs"
        (rootfs / "data").mkdir(parents=True)
        (rootfs / "data" / "payload").write_bytes(os.urandom(400_000))
        out = tmp_path / f"{fmt}.tar"
        ref = Reference.parse("damaged/img:1")
        with LocalStore.open(tmp_path / "source-root") as store, open(out, "wb") as f:
            import_image(store, str(rootfs), str(ref))
            image = ArchiveImage(StoreSource(store), store.resolve(ref), [ref])
            save_archive([image], f, format=fmt)
        return out

    return make


def _legacy(tmp_path: Path) -> Path:
    """A ``docker save`` (Docker < 25) layout: manifest.json, <id>.json, <id>/layer.tar."""
    payload = os.urandom(400_000)
    return write_archive(
        tmp_path / "legacy.tar", "damaged/img:1", [[("data/payload", "f", payload)]], ["x"]
    )


MAKERS = {"docker": _saved("docker"), "oci": _saved("oci"), "legacy-docker": _legacy}


def _refusals(location: str, root: Path) -> list[str]:
    """What ``copy`` (into the store at ``root``) and ``sbom`` say when they open ``location``."""
    said = []
    with pytest.raises(DockyardError) as copying:
        open_source(
            parse_location(location), registry=RegistryClient(), store=lambda: LocalStore(root)
        )
    said.append(str(copying.value))
    with pytest.raises(DockyardError) as scanning:
        scan_source(location)
    said.append(str(scanning.value))
    return said


# --- damaged archives (no dockerd needed) ----------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_truncated_archive_names_the_member_and_loads_nothing(kind: str, tmp_path: Path) -> None:
    archive = MAKERS[kind](tmp_path)
    layer = _largest_member(archive)
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: layer.offset_data + layer.size // 2])
    root = tmp_path / "root"
    result = run_dockyard("load", "-i", cut, root=root, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for message in [result.stderr, *_refusals(f"docker-archive:{cut}", root)]:
        assert f"the image archive {cut} is truncated: member {layer.name} " in message
    _assert_store_empty(root)
    # gzip'd and on stdin: the same member is named
    data = gzip.compress(cut.read_bytes(), compresslevel=1)
    piped = run_dockyard("load", root=root, input=data, text=False, check=False)
    assert piped.returncode == 1
    assert f"<stdin> is truncated: member {layer.name} ".encode() in piped.stderr
    _assert_store_empty(root)
    # and the whole archive still loads
    with LocalStore.open(root) as store:
        (loaded,) = load_archive(store, archive)
        assert [n.familiar for n in loaded.names] == ["damaged/img:1"]


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_archive_naming_a_missing_member_is_refused_whole(kind: str, tmp_path: Path) -> None:
    archive = MAKERS[kind](tmp_path)
    layer = _largest_member(archive)
    broken = _without(archive, tmp_path / "broken.tar", layer.name)
    root = tmp_path / "root"
    result = run_dockyard("load", "-i", broken, root=root, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    transport = "oci-archive" if kind == "oci" else "docker-archive"
    for message in [result.stderr, *_refusals(f"{transport}:{broken}", root)]:
        assert f"the image archive {broken} is incomplete" in message
        assert f"names member {layer.name}, which it does not contain" in message
    _assert_store_empty(root)


def test_corrupt_member_is_named_and_nothing_is_recorded(tmp_path: Path) -> None:
    """A layer whose bytes do not match its digest is caught while it is copied."""
    archive = _saved("docker")(tmp_path)
    layer = _largest_member(archive)
    data = bytearray(archive.read_bytes())
    data[layer.offset_data + layer.size // 2] ^= 0xFF
    bad = tmp_path / "bad.tar"
    bad.write_bytes(bytes(data))
    root = tmp_path / "root"
    result = run_dockyard("load", "-i", bad, root=root, check=False)
    assert result.returncode == 1
    assert f"member {layer.name} of the image archive {bad} is corrupt" in result.stderr
    with LocalStore.open(root) as store:
        assert store.images() == [] and store.tags() == []
    assert json.loads((root / "index.json").read_text())["manifests"] == []


def test_plain_tars_are_read_in_place_and_compressed_ones_spooled(tmp_path: Path) -> None:
    archive = _saved("docker")(tmp_path)
    spool = tmp_path / "spool"
    spool.mkdir()
    with open_archive(archive, spool_dir=spool) as plain:
        assert not plain.compressed and list(spool.iterdir()) == []
        (entry,) = plain.entries
        assert [n.familiar for n in entry.names] == ["damaged/img:1"]
    packed = tmp_path / "packed.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes(), compresslevel=1))
    with open_archive(packed, spool_dir=spool) as unpacked:
        assert unpacked.compressed and len(list(spool.iterdir())) == 1
        assert unpacked.entries == [entry]
    assert list(spool.iterdir()) == []  # the uncompressed copy is gone with the archive
    # a stream that is no file (a pipe, here bytes in memory) is spooled too
    with open_archive(io.BytesIO(packed.read_bytes()), spool_dir=spool) as streamed:
        assert streamed.compressed and streamed.entries == [entry]
    assert list(spool.iterdir()) == []


# --- real docker save and skopeo oci-archive ---------------------------------------------------


def _docker_layers(dockerd: DockerDaemon, ref: str) -> list[str]:
    out = dockerd.run("image", "inspect", "-f", "{{json .RootFS.Layers}}", ref).stdout
    layers: list[str] = json.loads(out)
    return layers


@pytest.mark.slow
def test_docker_save_is_read_alike_by_sbom_load_and_copy(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, tmp_path: Path
) -> None:
    archive = save_image(dockerd, multilayer_image.ref, tmp_path / "multi.tar")
    layers = _docker_layers(dockerd, multilayer_image.ref)
    with open_archive(archive) as opened:
        (entry,) = opened.entries
        built = str(entry.descriptor.digest)  # docker 20's save has no manifest: one is built
        assert entry.synthesized and str(entry.image_id) == multilayer_image.id
    # load
    loaded_root = tmp_path / "loaded"
    out = run_dockyard("load", "-i", archive, root=loaded_root).stdout
    assert out == f"Loaded image: {multilayer_image.ref}\n"
    assert _inspect(loaded_root, multilayer_image.ref)["Id"] == multilayer_image.id
    assert _manifest_digest(loaded_root, multilayer_image.ref) == built
    # load, gzip'd on stdin: the same image
    piped_root = tmp_path / "piped"
    data = gzip.compress(archive.read_bytes(), compresslevel=1)
    run_dockyard("load", "-q", root=piped_root, input=data, text=False)
    assert _manifest_digest(piped_root, multilayer_image.ref) == built
    # copy into the store and into an OCI layout that skopeo reads
    copied_root = tmp_path / "copied"
    digest = run_dockyard(
        "copy",
        f"docker-archive:{archive}:{multilayer_image.ref}",
        "copied/multi:1",
        root=copied_root,
    ).stdout.strip()
    assert digest == built
    assert _inspect(copied_root, "copied/multi:1")["Id"] == multilayer_image.id
    layout = tmp_path / "layout"
    run_dockyard("copy", f"docker-archive:{archive}", f"oci:{layout}:v1", root=copied_root)
    config = json.loads(run_command(["skopeo", "inspect", "--config", f"oci:{layout}:v1"]).stdout)
    assert config["rootfs"]["diff_ids"] == layers
    # sbom
    source = _sbom_source(f"docker-archive:{archive}", tmp_path / "sbom")
    assert source["type"] == "docker-archive" and source["name"] == multilayer_image.ref
    assert source["imageID"] == multilayer_image.id
    assert _diff_ids(source) == layers


@pytest.mark.slow
def test_skopeo_oci_archive_is_read_alike_by_sbom_load_and_copy(
    dockerd: DockerDaemon, multilayer_image: BuiltImage, tmp_path: Path
) -> None:
    docker_tar = save_image(dockerd, multilayer_image.ref, tmp_path / "d.tar")
    archive = tmp_path / "skopeo.oci.tar"
    run_command(
        ["skopeo", "copy", f"docker-archive:{docker_tar}", f"oci-archive:{archive}:multi:v2"]
    )
    raw = run_command(["skopeo", "inspect", "--raw", f"oci-archive:{archive}"]).stdout
    manifest = json.loads(raw)
    digest = run_command(["skopeo", "manifest-digest", "/dev/stdin"], input=raw).stdout.strip()
    config_digest = manifest["config"]["digest"]
    layers = _docker_layers(dockerd, multilayer_image.ref)
    with open_archive(archive) as opened:
        (entry,) = opened.entries
        assert not entry.synthesized
        assert str(entry.descriptor.digest) == digest and str(entry.image_id) == config_digest
    # load keeps skopeo's digests
    loaded_root = tmp_path / "loaded"
    assert "Loaded image: multi:v2" in run_dockyard("load", "-i", archive, root=loaded_root).stdout
    assert _manifest_digest(loaded_root, "multi:v2") == digest
    assert _inspect(loaded_root, "multi:v2")["Id"] == config_digest
    # copy by the archive's name for the image, into the store and a layout
    copied_root = tmp_path / "copied"
    out = run_dockyard(
        "copy", f"oci-archive:{archive}:multi:v2", "copied/multi:2", root=copied_root
    )
    assert out.stdout.strip() == digest
    assert _manifest_digest(copied_root, "copied/multi:2") == digest
    layout = tmp_path / "layout"
    run_dockyard("copy", f"oci-archive:{archive}", f"oci:{layout}:v2", root=copied_root)
    again = run_command(["skopeo", "inspect", "--raw", f"oci:{layout}:v2"]).stdout
    assert again == raw
    # sbom
    source = _sbom_source(f"oci-archive:{archive}", tmp_path / "sbom")
    assert source["type"] == "oci-archive"
    assert source["manifestDigest"] == digest and source["imageID"] == config_digest
    assert _diff_ids(source) == layers
