"""Image configs: strict parsing, every field preserved, derived configs are new objects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dockyard.digest import Digest, digest_of
from dockyard.errors import InvalidArgument, ManifestInvalid
from dockyard.oci import HistoryEntry, ImageConfig, Platform
from dockyard.oci import mediatypes as mt

L1 = "sha256:" + "1" * 64
L2 = "sha256:" + "2" * 64

# The shape `docker build` writes (Docker's own fields included), pretty-printed on purpose.
DOCKER_CONFIG: dict[str, Any] = {
    "architecture": "arm64",
    "variant": "v8",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["sh"],
        "WorkingDir": "/",
        "Labels": {"maintainer": "me"},
        "ArgsEscaped": True,
        "OnBuild": None,
        "Hostname": "",
    },
    "container": "3f1c",
    "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ", 'CMD ["sh"]'], "Image": "x"},
    "created": "2024-01-02T03:04:05.123456789Z",
    "docker_version": "24.0.7",
    "history": [
        {"created": "2024-01-02T03:04:05Z", "created_by": "ADD file:abc in / "},
        {"created": "2024-01-02T03:04:05Z", "created_by": 'CMD ["sh"]', "empty_layer": True},
    ],
    "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [L1]},
    "x-vendor-field": {"nested": [1, 2, 3]},
}
RAW = json.dumps(DOCKER_CONFIG, indent=4).encode()


def test_parse_keeps_everything() -> None:
    c = ImageConfig.parse(RAW)
    assert c.raw == RAW
    assert c.digest == digest_of(RAW)
    assert c.size == len(RAW)
    assert c.data == DOCKER_CONFIG
    assert (c.os, c.architecture, c.variant) == ("linux", "arm64", "v8")
    assert c.created == "2024-01-02T03:04:05.123456789Z"
    assert c.author is None
    assert c.config["Cmd"] == ["sh"]
    assert c.container_config["Image"] == "x"
    assert c.labels == {"maintainer": "me"}
    assert c.diff_ids == [Digest.parse(L1)]
    assert c.history == [
        HistoryEntry(created="2024-01-02T03:04:05Z", created_by="ADD file:abc in / "),
        HistoryEntry(created="2024-01-02T03:04:05Z", created_by='CMD ["sh"]', empty_layer=True),
    ]
    assert c.platform() == Platform("linux", "arm64", "v8")
    assert c.platform().matches(Platform.parse("linux/arm64"))
    assert c.descriptor().media_type == mt.OCI_CONFIG
    assert c.descriptor(mt.DOCKER_CONFIG).digest == c.digest


def test_data_is_a_copy() -> None:
    c = ImageConfig.parse(RAW)
    c.data["os"] = "windows"
    c.config["Cmd"] = ["x"]
    c.labels["a"] = "b"
    assert c.os == "linux" and c.config["Cmd"] == ["sh"] and "a" not in c.labels


def minimal(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}
    obj.update(extra)
    return obj


def test_minimal_and_defaults() -> None:
    c = ImageConfig.parse(json.dumps(minimal(config=None)).encode())
    assert c.diff_ids == [] and c.history == [] and c.config == {} and c.labels == {}
    assert c.created is None and c.variant is None and c.container_config == {}
    assert c.platform() == Platform("linux", "amd64")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"os": "linux", "rootfs": {"type": "layers"}}, "architecture is required"),
        ({"architecture": "amd64", "rootfs": {"type": "layers"}}, "os is required"),
        (minimal(os=""), "os must not be empty"),
        (minimal(architecture=64), "architecture must be a string, got number"),
        ({"architecture": "amd64", "os": "linux"}, "rootfs is required"),
        (minimal(rootfs=None), "rootfs must be an object, got null"),
        (minimal(rootfs={"type": "tarball"}), "rootfs.type must be 'layers'"),
        (minimal(rootfs={"type": "layers", "diff_ids": L1}), "rootfs.diff_ids must be an array"),
        (minimal(rootfs={"type": "layers", "diff_ids": ["x"]}), r"rootfs.diff_ids\[0\] 'x'"),
        (minimal(rootfs={"type": "layers", "diff_ids": [1]}), r"rootfs.diff_ids\[0\] must be"),
        (minimal(created="yesterday"), "created 'yesterday' is not an RFC 3339 time"),
        (minimal(created=5), "created must be a string"),
        (minimal(author=["x"]), "author must be a string"),
        (minimal(config=[]), "config must be an object"),
        (minimal(config={"Env": "A=1"}), "config.Env must be an array of strings"),
        (minimal(config={"Cmd": ["a", 1]}), r"config.Cmd\[1\] must be a string"),
        (minimal(config={"Labels": {"a": 1}}), r"config.Labels\['a'\] must be a string"),
        (minimal(config={"User": 0}), "config.User must be a string"),
        (minimal(config={"ExposedPorts": ["80/tcp"]}), "config.ExposedPorts must be an object"),
        (minimal(config={"ArgsEscaped": "yes"}), "config.ArgsEscaped must be a boolean"),
        (minimal(container_config={"Entrypoint": "sh"}), "container_config.Entrypoint must be"),
        (minimal(history={}), "history must be an array"),
        (minimal(history=["x"]), r"history\[0\] must be an object"),
        (minimal(history=[{"empty_layer": "true"}]), r"history\[0\].empty_layer must be a bool"),
        (minimal(history=[{}, {"created": "now"}]), r"history\[1\].created 'now'"),
        (minimal(**{"os.features": "x"}), "os.features must be an array of strings"),
    ],
)
def test_strict(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        ImageConfig.parse(json.dumps(obj).encode())


def test_not_json() -> None:
    with pytest.raises(ManifestInvalid, match="invalid image config"):
        ImageConfig.parse(b"not json")
    with pytest.raises(ManifestInvalid, match="got array"):
        ImageConfig.parse(b"[]")


def test_rfc3339_forms() -> None:
    for created in ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05.5+02:00", "2024-01-02t03:04:05z"):
        assert ImageConfig.parse(json.dumps(minimal(created=created)).encode()).created == created


def test_build_is_canonical_and_stable() -> None:
    c = ImageConfig.build(DOCKER_CONFIG)
    obj = json.loads(c.raw)
    assert obj == DOCKER_CONFIG
    assert list(obj)[:7] == [
        "created",
        "architecture",
        "os",
        "variant",
        "config",
        "rootfs",
        "history",
    ]
    assert list(obj)[7:] == ["container", "container_config", "docker_version", "x-vendor-field"]
    assert list(obj["config"]) == [
        "Env",
        "Cmd",
        "WorkingDir",
        "Labels",
        "ArgsEscaped",
        "OnBuild",
        "Hostname",
    ]
    assert list(obj["history"][1]) == ["created", "created_by", "empty_layer"]
    assert b"\n" not in c.raw and b", " not in c.raw
    shuffled = dict(reversed(list(DOCKER_CONFIG.items())))
    assert ImageConfig.build(shuffled).raw == c.raw
    assert ImageConfig.build(c.data) == c
    with pytest.raises(InvalidArgument):
        ImageConfig.build([])  # type: ignore[arg-type]


def test_with_changes_returns_a_new_config() -> None:
    c = ImageConfig.parse(RAW)
    d = c.with_changes(
        cmd=["echo", "hi"],
        env=["A=1"],
        labels={"x": "y"},
        exposed_ports=["80/tcp", "443/tcp"],
        volumes=["/data"],
        user="1000",
        working_dir="/app",
        entrypoint=None,
        author="me",
        created="2025-01-01T00:00:00Z",
    )
    assert c.raw == RAW and c.config["Cmd"] == ["sh"]
    assert d.digest != c.digest and d.digest == digest_of(d.raw)
    assert d.config["Cmd"] == ["echo", "hi"]
    assert d.config["Env"] == ["A=1"]
    assert d.config["ExposedPorts"] == {"443/tcp": {}, "80/tcp": {}}
    assert d.config["Volumes"] == {"/data": {}}
    assert (d.config["User"], d.config["WorkingDir"]) == ("1000", "/app")
    assert "Entrypoint" not in d.config
    assert d.labels == {"x": "y"}
    assert (d.author, d.created) == ("me", "2025-01-01T00:00:00Z")
    # unrelated and unknown fields survive
    assert d.data["x-vendor-field"] == {"nested": [1, 2, 3]}
    assert d.config["Hostname"] == ""
    assert d.diff_ids == c.diff_ids and d.history == c.history


def test_with_changes_whole_config_and_errors() -> None:
    c = ImageConfig.parse(json.dumps(minimal()).encode())
    d = c.with_changes(config={"Cmd": ["a"]}, stop_signal="SIGTERM")
    assert d.config == {"Cmd": ["a"], "StopSignal": "SIGTERM"}
    assert c.with_changes(os="linux", architecture="arm", variant="v7").platform() == Platform(
        "linux", "arm", "v7"
    )
    with pytest.raises(InvalidArgument, match="unknown image config field 'bogus'"):
        c.with_changes(bogus=1)
    with pytest.raises(ManifestInvalid, match=r"config\.Cmd"):
        c.with_changes(cmd="not a list")


def test_with_layer_and_history() -> None:
    c = ImageConfig.parse(RAW)
    entry = HistoryEntry(created="2025-01-01T00:00:00Z", created_by="RUN make", comment="c")
    d = c.with_layer(Digest.parse(L2), entry)
    assert d.diff_ids == [Digest.parse(L1), Digest.parse(L2)]
    assert d.history[-1] == entry
    assert len(d.history) == len(c.history) + 1
    assert c.diff_ids == [Digest.parse(L1)]
    e = d.with_history(HistoryEntry(created_by="ENV A=1", empty_layer=True))
    assert e.history[-1].empty_layer and e.diff_ids == d.diff_ids
    f = ImageConfig.parse(json.dumps(minimal()).encode()).with_layer(Digest.parse(L1))
    assert f.diff_ids == [Digest.parse(L1)] and f.history == []
    with pytest.raises(InvalidArgument, match="empty_layer"):
        c.with_layer(Digest.parse(L2), HistoryEntry(empty_layer=True))
    with pytest.raises(InvalidArgument, match="empty_layer=True"):
        c.with_history(HistoryEntry(created_by="RUN x"))


def test_history_entry_json() -> None:
    h = HistoryEntry(created="2024-01-01T00:00:00Z", created_by="x", author="a", comment="c")
    assert list(h.to_json()) == ["created", "created_by", "author", "comment"]
    assert HistoryEntry.from_json(h.to_json()) == h
    assert HistoryEntry(empty_layer=True).to_json() == {"empty_layer": True}


def test_equality_and_repr() -> None:
    a, b = ImageConfig.parse(RAW), ImageConfig.parse(RAW)
    assert a == b and hash(a) == hash(b) and a != ImageConfig.build(DOCKER_CONFIG)
    assert "linux/arm64/v8" in repr(a)
