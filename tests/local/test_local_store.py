from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from _infra.store_images import BuiltImage
from dockyard.digest import digest_of
from dockyard.errors import BlobUnknown, FailedPrecondition, InvalidArgument, NotFound
from dockyard.local import REF_NAME, LocalStore, default_root
from dockyard.oci import Descriptor
from dockyard.oci.mediatypes import OCI_LAYER, OCI_MANIFEST
from dockyard.reference import Reference

MakeImage = Callable[..., BuiltImage]


def _index(store: LocalStore) -> dict[str, object]:
    data = json.loads((store.root / "index.json").read_bytes())
    assert isinstance(data, dict)
    return data


def _ref_names(store: LocalStore) -> list[str]:
    manifests = _index(store)["manifests"]
    assert isinstance(manifests, list)
    return [m["annotations"][REF_NAME] for m in manifests]


def test_open_creates_an_oci_layout(tmp_path: Path) -> None:
    with LocalStore.open(tmp_path / "s") as store:
        root = store.root
        assert json.loads((root / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}
        index = _index(store)
        assert index["schemaVersion"] == 2 and index["manifests"] == []
        assert (root / "blobs").is_dir() and (root / "ingest").is_dir()
        assert (root / "dockyard.db").is_file()
    # opening again is harmless
    LocalStore.open(tmp_path / "s").close()


def test_open_refuses_another_layout_version(tmp_path: Path) -> None:
    (tmp_path / "oci-layout").write_text('{"imageLayoutVersion": "9.9.9"}')
    with pytest.raises(FailedPrecondition, match=r"imageLayoutVersion 1\.0\.0"):
        LocalStore.open(tmp_path)


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "explicit"))
    assert default_root() == tmp_path / "explicit"
    monkeypatch.delenv("DOCKYARD_ROOT")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_root() == tmp_path / "xdg" / "dockyard"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_root() == tmp_path / "home" / ".local" / "share" / "dockyard"


def test_open_default_uses_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKYARD_ROOT", str(tmp_path / "env-root"))
    with LocalStore.open() as store:
        assert store.root == tmp_path / "env-root"
        assert (store.root / "oci-layout").is_file()


def test_tag_resolve_untag(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    ref = Reference.parse("busybox:latest")
    store.set_tag(ref, image.descriptor)
    assert store.resolve(ref) == image.descriptor
    assert store.resolve(Reference.parse("busybox")) == image.descriptor  # bare name = latest
    assert _ref_names(store) == ["docker.io/library/busybox:latest"]
    entry = _index(store)["manifests"][0]  # type: ignore[index]
    assert entry["digest"] == str(image.descriptor.digest)
    assert entry["mediaType"] == OCI_MANIFEST

    assert store.remove_tag(ref) == image.descriptor
    assert _ref_names(store) == []
    with pytest.raises(NotFound, match=r"^No such image: busybox:latest$"):
        store.resolve(ref)
    with pytest.raises(NotFound, match=r"^No such image: busybox:latest$"):
        store.remove_tag(ref)


def test_retag_moves_and_index_lists_every_tag(store: LocalStore, make_image: MakeImage) -> None:
    a, b = make_image("a"), make_image("b")
    refs = ["busybox:1", "busybox:latest", "localhost:5000/team/app:v1", "ghcr.io/o/x:2"]
    for text in refs:
        store.set_tag(Reference.parse(text), a.descriptor)
    store.set_tag(Reference.parse("busybox:latest"), b.descriptor)
    assert store.resolve(Reference.parse("busybox:latest")) == b.descriptor
    assert sorted(_ref_names(store)) == sorted(str(Reference.parse(t)) for t in refs)
    assert {str(t.ref) for t in store.tags(target=a.descriptor.digest)} == {
        str(Reference.parse(t)) for t in refs if t != "busybox:latest"
    }


def test_digest_references(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    digest = image.descriptor.digest
    store.set_tag(Reference.parse("busybox:latest"), image.descriptor)
    # name@digest resolves through a tag of the same repository
    assert store.resolve(Reference.parse(f"busybox@{digest}")) == image.descriptor
    with pytest.raises(NotFound, match=f"No such image: alpine@{digest}"):
        store.resolve(Reference.parse(f"alpine@{digest}"))
    # and can be stored itself
    by_digest = Reference.parse(f"alpine@{digest}")
    store.set_tag(by_digest, image.descriptor)
    assert store.resolve(by_digest) == image.descriptor
    assert f"docker.io/library/alpine@{digest}" in _ref_names(store)
    other = make_image("b")
    with pytest.raises(InvalidArgument, match="names digest"):
        store.set_tag(by_digest, other.descriptor)


def test_set_tag_validation(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    with pytest.raises(InvalidArgument, match="without a tag or digest"):
        store.set_tag(Reference.parse("busybox"), image.descriptor)
    layer = image.layers[0]
    with pytest.raises(InvalidArgument, match="only image manifests and indexes"):
        store.set_tag(Reference.parse("busybox:x"), layer)
    missing = Descriptor.of(b'{"not":"stored"}', OCI_MANIFEST)
    with pytest.raises(BlobUnknown, match="pull or load the image first"):
        store.set_tag(Reference.parse("busybox:x"), missing)
    assert store.tags() == []


def test_tag_records_keep_descriptor_details(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    target = Descriptor(
        media_type=image.descriptor.media_type,
        digest=image.descriptor.digest,
        size=image.descriptor.size,
        annotations={"note": "kept"},
    )
    store.set_tag(Reference.parse("busybox:1"), target)
    (record,) = store.tags()
    assert record.target == target
    entry = _index(store)["manifests"][0]  # type: ignore[index]
    assert entry["annotations"] == {"note": "kept", REF_NAME: "docker.io/library/busybox:1"}


def test_image_records(store: LocalStore, make_image: MakeImage) -> None:
    image = make_image("a")
    digest = image.descriptor.digest
    store.record_image(digest, image.config.digest, "2024-01-01T00:00:00Z")
    (record,) = store.images()
    assert record.manifest_digest == digest and record.config_digest == image.config.digest
    assert record.last_used_at is None
    store.touch(digest)
    assert store.image(digest).last_used_at is not None
    store.remove_image(digest)
    assert store.images() == []
    with pytest.raises(NotFound, match=f"No such image: {digest}"):
        store.image(digest)
    with pytest.raises(NotFound):
        store.touch(digest)
    with pytest.raises(NotFound):
        store.remove_image(digest)
    with pytest.raises(BlobUnknown, match="write the manifest first"):
        store.record_image(digest_of(b"nope"), None, None)


def test_labels(store: LocalStore, make_image: MakeImage) -> None:
    digest = make_image("a").descriptor.digest
    assert store.set_labels(digest, {"env": "prod", "team": "x"}) == {"env": "prod", "team": "x"}
    assert store.set_labels(digest, {"team": None}) == {"env": "prod"}
    assert store.labels(digest) == {"env": "prod"}


def test_rebuild_index(store: LocalStore, make_image: MakeImage) -> None:
    store.set_tag(Reference.parse("busybox:1"), make_image("a").descriptor)
    (store.root / "index.json").write_text('{"schemaVersion": 2, "manifests": []}')
    store.rebuild_index()
    assert _ref_names(store) == ["docker.io/library/busybox:1"]


def test_layer_descriptor_media_type_is_not_taggable(store: LocalStore) -> None:
    data = b"layer"
    store.content.put_bytes(data)
    with pytest.raises(InvalidArgument):
        store.set_tag(Reference.parse("x:1"), Descriptor.of(data, OCI_LAYER))
