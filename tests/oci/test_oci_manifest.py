"""Manifests and indexes: strict parsing over raw bytes, canonical building, platform selection."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from dockyard.digest import Digest, digest_of
from dockyard.errors import InvalidArgument, ManifestInvalid, NotFound
from dockyard.oci import Descriptor, Index, Manifest, Platform, parse_manifest_or_index
from dockyard.oci import mediatypes as mt


def dg(ch: str) -> str:
    return "sha256:" + ch * 64


# Docker v2 schema 2 exactly as the distribution library writes it (3-space indent).
DOCKER_V2S2 = f"""{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "{dg("c")}"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2219949,
         "digest": "{dg("1")}"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 10,
         "digest": "{dg("2")}",
         "urls": ["https://example.com/layer"]
      }}
   ]
}}""".encode()


def entry(
    media_type: str, ch: str, platform: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"mediaType": media_type, "digest": dg(ch), "size": 500}
    if platform is not None:
        out["platform"] = platform
    out.update(extra)
    return out


def plat(arch: str, variant: str | None = None, os: str = "linux") -> dict[str, Any]:
    out = {"architecture": arch, "os": os}
    if variant:
        out["variant"] = variant
    return out


DOCKER_LIST = json.dumps(
    {
        "manifests": [
            entry(mt.DOCKER_MANIFEST, "1", plat("amd64")),
            entry(mt.DOCKER_MANIFEST, "2", plat("arm", "v5")),
            entry(mt.DOCKER_MANIFEST, "3", plat("arm", "v6")),
            entry(mt.DOCKER_MANIFEST, "4", plat("arm", "v7")),
            entry(mt.DOCKER_MANIFEST, "5", plat("arm64", "v8")),
            entry(mt.DOCKER_MANIFEST, "6", plat("386")),
            entry(mt.DOCKER_MANIFEST, "7", plat("ppc64le")),
        ],
        "mediaType": mt.DOCKER_MANIFEST_LIST,
        "schemaVersion": 2,
    },
    indent=2,
).encode()

# What buildx pushes: images plus attestation manifests with platform unknown/unknown.
BUILDX_INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            entry(mt.OCI_MANIFEST, "a", plat("amd64")),
            entry(mt.OCI_MANIFEST, "b", plat("arm64")),
            entry(
                mt.OCI_MANIFEST,
                "c",
                plat("unknown", os="unknown"),
                annotations={
                    "vnd.docker.reference.digest": dg("a"),
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            ),
        ],
    }
).encode()


# --- Manifest.parse --------------------------------------------------------------------------


def test_parse_docker_v2s2_keeps_raw_bytes() -> None:
    m = Manifest.parse(DOCKER_V2S2)
    assert m.raw == DOCKER_V2S2
    assert m.media_type == mt.DOCKER_MANIFEST
    assert str(m.digest) == "sha256:" + hashlib.sha256(DOCKER_V2S2).hexdigest()
    assert m.size == len(DOCKER_V2S2)
    assert m.config.media_type == mt.DOCKER_CONFIG
    assert m.config.digest == Digest.parse(dg("c"))
    assert [layer.size for layer in m.layers] == [2219949, 10]
    assert m.layers[1].urls == ["https://example.com/layer"]
    assert (m.subject, m.annotations, m.artifact_type) == (None, None, None)


def test_parse_with_declared_media_type() -> None:
    assert Manifest.parse(DOCKER_V2S2, mt.DOCKER_MANIFEST).media_type == mt.DOCKER_MANIFEST
    with_params = mt.DOCKER_MANIFEST + "; charset=utf-8"
    assert Manifest.parse(DOCKER_V2S2, with_params).media_type == mt.DOCKER_MANIFEST
    with pytest.raises(ManifestInvalid, match="does not match the declared"):
        Manifest.parse(DOCKER_V2S2, mt.OCI_MANIFEST)


def oci_manifest(**extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "schemaVersion": 2,
        "config": {"mediaType": mt.OCI_CONFIG, "digest": dg("c"), "size": 100},
        "layers": [{"mediaType": mt.OCI_LAYER_GZIP, "digest": dg("1"), "size": 5}],
    }
    obj.update(extra)
    return obj


def raw(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_media_type_from_shape() -> None:
    m = Manifest.parse(raw(oci_manifest()))
    assert m.media_type == mt.OCI_MANIFEST
    i = Index.parse(raw({"schemaVersion": 2, "manifests": []}))
    assert i.media_type == mt.OCI_INDEX


def test_media_type_cannot_be_told() -> None:
    with pytest.raises(ManifestInvalid, match="no mediaType"):
        Manifest.parse(raw({"schemaVersion": 2, "config": {}}))


def test_oci_manifest_with_optional_fields() -> None:
    subject = {"mediaType": mt.OCI_MANIFEST, "digest": dg("9"), "size": 7}
    m = Manifest.parse(
        raw(
            oci_manifest(
                mediaType=mt.OCI_MANIFEST,
                artifactType="application/vnd.example.sig",
                subject=subject,
                annotations={"org.opencontainers.image.created": "2024-01-01T00:00:00Z"},
            )
        )
    )
    assert m.subject == Descriptor.from_json(subject)
    assert m.artifact_type == "application/vnd.example.sig"
    assert m.annotations == {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    d = m.descriptor(Platform("linux", "amd64"))
    assert (d.media_type, d.digest, d.size) == (mt.OCI_MANIFEST, m.digest, m.size)
    assert d.platform == Platform("linux", "amd64")
    assert d.artifact_type == "application/vnd.example.sig"


def test_empty_layers_allowed_for_artifacts() -> None:
    assert Manifest.parse(raw(oci_manifest(layers=[]))).layers == []


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({k: v for k, v in oci_manifest().items() if k != "schemaVersion"}, "schemaVersion is"),
        (oci_manifest(schemaVersion=1), "schemaVersion must be 2, got 1"),
        (oci_manifest(schemaVersion="2"), "schemaVersion must be 2, got '2'"),
        (oci_manifest(schemaVersion=True), "schemaVersion must be 2"),
        (oci_manifest(schemaVersion=2.5), "schemaVersion must be 2"),
        (
            {k: v for k, v in oci_manifest().items() if k != "config"}
            | {"mediaType": mt.OCI_MANIFEST},
            "config is required",
        ),
        (oci_manifest(layers=None), "layers must be an array"),
        (oci_manifest(layers={}), "layers must be an array"),
        (
            oci_manifest(layers=[{"mediaType": mt.OCI_LAYER, "digest": dg("1")}]),
            r"layers\[0\]\.size is required",
        ),
        (
            oci_manifest(config={"mediaType": mt.OCI_CONFIG, "digest": "sha256:1", "size": 1}),
            "config.digest",
        ),
        (oci_manifest(annotations={"a": 1}), r"annotations\['a'\] must be a string"),
        (oci_manifest(subject={"mediaType": mt.OCI_MANIFEST}), "subject.digest is required"),
        (oci_manifest(artifactType=5), "artifactType must be a string"),
        (oci_manifest(mediaType=5), "mediaType must be a string"),
        (oci_manifest(mediaType="application/json"), "unsupported media type"),
        (oci_manifest(mediaType=mt.OCI_MANIFEST, manifests=[]), "has 'manifests' like an index"),
        (oci_manifest(mediaType=mt.OCI_INDEX), "found an index"),
    ],
)
def test_manifest_strict(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        Manifest.parse(raw(obj))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid UTF-8 JSON"),
        (b"{", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[]", "expected a JSON object, got array"),
        (b'{"schemaVersion": NaN}', "not valid UTF-8 JSON"),
    ],
)
def test_not_json(data: bytes, message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        Manifest.parse(data)
    with pytest.raises(ManifestInvalid, match=message):
        parse_manifest_or_index(data)


def test_docker_media_type_requires_the_field() -> None:
    with pytest.raises(ManifestInvalid, match="mediaType must be"):
        Manifest.parse(raw(oci_manifest()), mt.DOCKER_MANIFEST)


def test_sha512_digest() -> None:
    m = Manifest.parse(DOCKER_V2S2, algorithm="sha512")
    assert m.digest == digest_of(DOCKER_V2S2, "sha512")


# --- Manifest.build --------------------------------------------------------------------------


def test_build_is_canonical() -> None:
    config = Descriptor(mt.OCI_CONFIG, Digest.parse(dg("c")), 100)
    layer = Descriptor(mt.OCI_LAYER_GZIP, Digest.parse(dg("1")), 5)
    m = Manifest.build(config, [layer], annotations={"z": "1", "a": "<&>"})
    expected = (
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        f'"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{dg("c")}",'
        '"size":100},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",'
        f'"digest":"{dg("1")}","size":5}}],'
        '"annotations":{"a":"\\u003c\\u0026\\u003e","z":"1"}}'
    )
    assert m.raw.decode() == expected
    assert m.digest == digest_of(m.raw)
    assert m.annotations == {"z": "1", "a": "<&>"}
    again = Manifest.build(config, [layer], annotations={"a": "<&>", "z": "1"})
    assert again.raw == m.raw and again == m and hash(again) == hash(m)


def test_build_field_order_with_everything() -> None:
    config = Descriptor.empty_json()
    subject = Descriptor(mt.OCI_MANIFEST, Digest.parse(dg("9")), 7)
    m = Manifest.build(
        config,
        [Descriptor.empty_json()],
        annotations={"k": "v"},
        subject=subject,
        artifact_type="application/vnd.example+json",
    )
    keys = list(json.loads(m.raw))
    assert keys == [
        "schemaVersion",
        "mediaType",
        "artifactType",
        "config",
        "layers",
        "subject",
        "annotations",
    ]
    assert m.subject == subject


def test_build_docker_manifest() -> None:
    m = Manifest.parse(DOCKER_V2S2)
    rebuilt = Manifest.build(m.config, m.layers, media_type=mt.DOCKER_MANIFEST)
    assert rebuilt.media_type == mt.DOCKER_MANIFEST
    assert list(json.loads(rebuilt.raw)) == ["schemaVersion", "mediaType", "config", "layers"]
    assert rebuilt.layers == m.layers
    assert rebuilt.raw != m.raw  # different bytes, different digest: never re-serialised
    with pytest.raises(InvalidArgument, match="no annotations"):
        Manifest.build(m.config, m.layers, media_type=mt.DOCKER_MANIFEST, annotations={"a": "b"})
    with pytest.raises(InvalidArgument, match="cannot build a manifest"):
        Manifest.build(m.config, m.layers, media_type=mt.OCI_INDEX)


def test_build_keeps_unicode_as_utf8() -> None:
    m = Manifest.build(Descriptor.empty_json(), [], annotations={"title": "caf\u00e9 \u2028"})
    assert "caf\u00e9".encode() in m.raw
    assert b"\\u2028" in m.raw


# --- Index -----------------------------------------------------------------------------------


def test_parse_docker_manifest_list() -> None:
    i = Index.parse(DOCKER_LIST)
    assert i.media_type == mt.DOCKER_MANIFEST_LIST
    assert i.raw == DOCKER_LIST
    assert i.digest == digest_of(DOCKER_LIST)
    assert len(i.manifests) == 7
    assert [str(p) for p in i.platforms()][:3] == ["linux/amd64", "linux/arm/v5", "linux/arm/v6"]


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [
        ("linux/amd64", "1"),
        ("linux/x86_64", "1"),
        ("linux/arm64", "5"),
        ("linux/arm64/v8", "5"),
        ("linux/aarch64", "5"),
        ("linux/arm/v7", "4"),
        ("linux/arm", "4"),
        ("linux/arm/v6", "3"),
        ("linux/arm/v5", "2"),
        ("linux/386", "6"),
        ("linux/ppc64le", "7"),
    ],
)
def test_select(wanted: str, chosen: str) -> None:
    d = Index.parse(DOCKER_LIST).select(Platform.parse(wanted))
    assert d.digest == Digest.parse(dg(chosen))


def test_select_prefers_best_over_first() -> None:
    index = Index.build(
        [
            Descriptor(
                mt.OCI_MANIFEST, Digest.parse(dg("1")), 1, platform=Platform("linux", "386")
            ),
            Descriptor(
                mt.OCI_MANIFEST, Digest.parse(dg("2")), 1, platform=Platform("linux", "arm", "v6")
            ),
            Descriptor(
                mt.OCI_MANIFEST, Digest.parse(dg("3")), 1, platform=Platform("linux", "amd64")
            ),
            Descriptor(
                mt.OCI_MANIFEST, Digest.parse(dg("4")), 1, platform=Platform("linux", "amd64")
            ),
        ]
    )
    assert index.select(Platform.parse("linux/amd64")).digest == Digest.parse(dg("3"))
    # an amd64 host falls back to 386; an arm64 host to 32-bit arm
    only_386 = Index.build([index.manifests[0], index.manifests[1]])
    assert only_386.select(Platform.parse("linux/amd64")).digest == Digest.parse(dg("1"))
    assert only_386.select(Platform.parse("linux/arm64")).digest == Digest.parse(dg("2"))


def test_select_skips_attestations() -> None:
    i = Index.parse(BUILDX_INDEX)
    assert i.select(Platform.parse("linux/amd64")).digest == Digest.parse(dg("a"))
    assert i.select(Platform.parse("linux/arm64/v8")).digest == Digest.parse(dg("b"))
    with pytest.raises(NotFound) as info:
        i.select(Platform.parse("linux/s390x"))
    message = str(info.value)
    assert "no matching manifest for linux/s390x in the manifest list entries" in message
    assert "linux/amd64, linux/arm64, unknown/unknown" in message


def test_select_platformless_fallback() -> None:
    index = Index.build([Descriptor(mt.OCI_MANIFEST, Digest.parse(dg("1")), 1)])
    assert index.select(Platform.parse("linux/amd64")).digest == Digest.parse(dg("1"))
    nested = Index.build([Descriptor(mt.OCI_INDEX, Digest.parse(dg("1")), 1)])
    with pytest.raises(NotFound, match="available platforms: none"):
        nested.select(Platform.parse("linux/amd64"))


def test_index_build_canonical_and_round_trip() -> None:
    entries = Index.parse(DOCKER_LIST).manifests[:2]
    built = Index.build(entries, media_type=mt.DOCKER_MANIFEST_LIST)
    obj = json.loads(built.raw)
    assert list(obj) == ["schemaVersion", "mediaType", "manifests"]
    assert list(obj["manifests"][0]) == ["mediaType", "digest", "size", "platform"]
    assert list(obj["manifests"][0]["platform"]) == ["architecture", "os"]
    assert built.manifests == entries
    oci = Index.build(entries, annotations={"a": "b"})
    assert oci.media_type == mt.OCI_INDEX and oci.annotations == {"a": "b"}
    assert oci.descriptor().media_type == mt.OCI_INDEX
    with pytest.raises(InvalidArgument):
        Index.build(entries, media_type=mt.DOCKER_MANIFEST_LIST, annotations={"a": "b"})
    with pytest.raises(InvalidArgument):
        Index.build(entries, media_type=mt.OCI_MANIFEST)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"schemaVersion": 2, "mediaType": mt.OCI_INDEX}, "manifests is required"),
        ({"schemaVersion": 2, "manifests": {}}, "manifests must be an array"),
        ({"schemaVersion": 1, "manifests": []}, "schemaVersion must be 2"),
        (
            {"schemaVersion": 2, "manifests": [{"mediaType": mt.OCI_MANIFEST}]},
            r"manifests\[0\]\.digest",
        ),
        (
            {"schemaVersion": 2, "manifests": [entry(mt.OCI_MANIFEST, "1", {"os": "linux"})]},
            r"manifests\[0\]\.platform\.architecture is required",
        ),
        ({"schemaVersion": 2, "manifests": [], "config": {}}, "like an image manifest"),
        (
            {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "manifests": []},
            "found an image manifest",
        ),
    ],
)
def test_index_strict(obj: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestInvalid, match=message):
        Index.parse(raw(obj))


def test_parse_manifest_or_index() -> None:
    assert isinstance(parse_manifest_or_index(DOCKER_V2S2), Manifest)
    assert isinstance(parse_manifest_or_index(DOCKER_LIST), Index)
    assert isinstance(parse_manifest_or_index(BUILDX_INDEX, mt.OCI_INDEX), Index)
    assert isinstance(parse_manifest_or_index(raw(oci_manifest())), Manifest)
    with pytest.raises(ManifestInvalid, match="does not match the declared"):
        parse_manifest_or_index(DOCKER_LIST, mt.OCI_INDEX)
    with pytest.raises(ManifestInvalid, match="unsupported media type"):
        parse_manifest_or_index(
            raw(oci_manifest()), "application/vnd.docker.distribution.manifest.v1+prettyjws"
        )


def test_objects_are_frozen() -> None:
    m = Manifest.parse(DOCKER_V2S2)
    with pytest.raises(AttributeError):
        m.raw = b""  # type: ignore[misc]
