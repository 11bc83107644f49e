"""Properties of dockyard.oci: manifests, indexes, descriptors, configs and platforms parse
strictly — a parsed object or an InvalidArgument-family error, for any bytes — and round-trip."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.digest import Digest
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci import (
    Descriptor,
    ImageConfig,
    Index,
    Manifest,
    Platform,
    mediatypes,
    parse_manifest_or_index,
)

from ._budget import fuzz_settings
from ._grammar import digest_text

pytestmark = pytest.mark.fuzz

_MEDIA_TYPES = [
    mediatypes.OCI_MANIFEST,
    mediatypes.OCI_INDEX,
    mediatypes.DOCKER_MANIFEST,
    mediatypes.DOCKER_MANIFEST_LIST,
    mediatypes.OCI_CONFIG,
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/x-foo",
    "text/plain; charset=utf-8",
    "not a media type",
    "",
]

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(_MEDIA_TYPES),
    digest_text(),
)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def descriptor_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Descriptor-shaped JSON, every field sometimes wrong."""
    obj: dict[str, Any] = {
        "mediaType": draw(st.sampled_from(_MEDIA_TYPES) | _scalars),
        "digest": draw(digest_text() | _scalars),
        "size": draw(st.integers(-1, 2**64) | _scalars),
    }
    for key, value in (
        ("urls", st.lists(st.text(max_size=10), max_size=2) | _json),
        ("annotations", st.dictionaries(st.text(max_size=8), st.text(max_size=8)) | _json),
        (
            "platform",
            st.fixed_dictionaries({"os": st.text(max_size=8), "architecture": st.text(max_size=8)})
            | _json,
        ),
        ("artifactType", st.sampled_from(_MEDIA_TYPES) | _json),
        (
            "data",
            st.binary(max_size=8).map(lambda b: __import__("base64").b64encode(b).decode()) | _json,
        ),
    ):
        if draw(st.booleans()):
            obj[key] = draw(value)
    if draw(st.integers(0, 9)) == 0:
        obj[draw(st.text(max_size=6))] = draw(_json)
    return obj


@st.composite
def manifest_objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {"schemaVersion": draw(st.sampled_from([2, 2, 1, "2", True, None]))}
    if draw(st.booleans()):
        obj["mediaType"] = draw(st.sampled_from(_MEDIA_TYPES) | _scalars)
    shape = draw(st.sampled_from(["manifest", "index", "both", "neither"]))
    if shape in ("manifest", "both"):
        obj["config"] = draw(descriptor_objects() | _json)
        obj["layers"] = draw(st.lists(descriptor_objects(), max_size=3) | _json)
    if shape in ("index", "both"):
        obj["manifests"] = draw(st.lists(descriptor_objects(), max_size=3) | _json)
    for key in ("subject", "annotations", "artifactType"):
        if draw(st.integers(0, 3)) == 0:
            obj[key] = draw(descriptor_objects() | _json)
    return obj


def manifest_bytes() -> st.SearchStrategy[bytes]:
    return st.one_of(
        manifest_objects().map(lambda o: json.dumps(o).encode()),
        st.binary(max_size=300),
        _json.map(lambda o: json.dumps(o).encode()),
        st.integers(1, 5_000).map(lambda n: b"[" * n),  # deep nesting
    )


@fuzz_settings(150)
@given(manifest_bytes(), st.none() | st.sampled_from(_MEDIA_TYPES))
@example(b"[" * 100_000, None)
@example(b'{"schemaVersion":2,"config":{},"layers":[]}', None)
@example(b"\xff\xfe{}", mediatypes.OCI_MANIFEST)
def test_manifest_parsing_fails_only_as_invalid_argument(raw: bytes, declared: str | None) -> None:
    for parse in (parse_manifest_or_index, Manifest.parse, Index.parse):
        try:
            parsed = parse(raw, declared)
        except InvalidArgument as exc:
            assert str(exc).startswith("invalid ")
            continue
        assert parsed.raw == raw
        assert parsed.size == len(raw)
        assert parse_manifest_or_index(raw, parsed.media_type) == parsed


@fuzz_settings(150)
@given(descriptor_objects() | _json)
def test_descriptor_parsing(obj: Any) -> None:
    try:
        d = Descriptor.from_json(obj)
    except InvalidArgument:
        return
    assert Descriptor.from_json(d.to_json()) == d


@st.composite
def built_descriptors(draw: st.DrawFn) -> Descriptor:
    data = draw(st.none() | st.binary(max_size=16))
    if data is not None:
        d = Descriptor.of(data, draw(st.sampled_from(_MEDIA_TYPES[:6])))
        return Descriptor(
            d.media_type, d.digest, d.size, data=data if draw(st.booleans()) else None
        )
    return Descriptor(
        draw(st.sampled_from(_MEDIA_TYPES[:6])),
        Digest.parse(draw(digest_text())),
        draw(st.integers(0, 2**40)),
        annotations=draw(
            st.none()
            | st.dictionaries(st.text(max_size=8), st.text(max_size=8), min_size=1, max_size=3)
        ),
        platform=draw(
            st.none()
            | st.sampled_from(["linux/amd64", "linux/arm64/v8", "windows/amd64"]).map(
                Platform.parse
            )
        ),
    )


@fuzz_settings(100)
@given(built_descriptors(), st.lists(built_descriptors(), max_size=4), st.booleans())
def test_built_manifests_and_indexes_round_trip(
    config: Descriptor, layers: list[Descriptor], with_subject: bool
) -> None:
    subject = config if with_subject else None
    manifest = Manifest.build(config, layers, subject=subject, annotations={"k": "<&>"})
    again = parse_manifest_or_index(manifest.raw)
    assert again == manifest
    assert isinstance(again, Manifest) and again.layers == layers and again.config == config
    index = Index.build([manifest.descriptor(), *layers], subject=subject)
    assert Index.parse(index.raw, mediatypes.OCI_INDEX) == index


@fuzz_settings(150)
@given(
    st.one_of(
        st.binary(max_size=200),
        _json.map(lambda o: json.dumps(o).encode()),
        st.fixed_dictionaries(
            {"architecture": _scalars, "os": _scalars},
            optional={"config": _json, "rootfs": _json, "history": _json, "created": _scalars},
        ).map(lambda o: json.dumps(o).encode()),
    )
)
def test_image_config_parsing(raw: bytes) -> None:
    try:
        config = ImageConfig.parse(raw)
    except InvalidArgument:
        return
    assert config.raw == raw
    assert ImageConfig.parse(config.raw) == config


@fuzz_settings(150)
@given(
    st.text(max_size=40)
    | st.lists(
        st.sampled_from(["linux", "amd64", "arm", "v7", "/", "(", ")", "windows", "10.0"]),
        max_size=6,
    ).map("".join)
)
def test_platform_parsing(text: str) -> None:
    try:
        platform = Platform.parse(text)
    except DockyardError as exc:
        assert isinstance(exc, InvalidArgument), exc
        return
    assert Platform.parse(str(platform)) == platform
