"""Descriptors: OCI field names, strict parsing, the optional fields."""

from __future__ import annotations

import base64
import json

import pytest

from dockyard.digest import Digest, digest_of
from dockyard.errors import ManifestInvalid
from dockyard.oci import EMPTY_JSON, Descriptor, Platform
from dockyard.oci import mediatypes as mt

D = "sha256:" + "a" * 64


def test_minimal_to_json_omits_empty_fields() -> None:
    d = Descriptor(mt.OCI_LAYER_GZIP, Digest.parse(D), 12)
    assert d.to_json() == {"mediaType": mt.OCI_LAYER_GZIP, "digest": D, "size": 12}


def test_full_round_trip_in_spec_order() -> None:
    data = b"hello"
    d = Descriptor(
        mt.OCI_MANIFEST,
        digest_of(data),
        len(data),
        urls=["https://example.com/blob"],
        annotations={"b": "2", "a": "1"},
        platform=Platform("linux", "arm", "v7"),
        artifact_type="application/vnd.example.sbom",
        data=data,
    )
    obj = d.to_json()
    assert list(obj) == [
        "mediaType",
        "digest",
        "size",
        "urls",
        "annotations",
        "data",
        "platform",
        "artifactType",
    ]
    assert list(obj["annotations"]) == ["a", "b"]
    assert obj["data"] == base64.b64encode(data).decode()
    back = Descriptor.from_json(json.loads(json.dumps(obj)))
    assert back == d
    assert hash(back) == hash(d)


def test_sha512() -> None:
    d = Descriptor.of(b"x", mt.OCI_CONFIG, algorithm="sha512")
    assert d.digest.algorithm == "sha512"
    assert Descriptor.from_json(d.to_json()) == d


def test_of_and_empty_json() -> None:
    d = Descriptor.of(b"abc", mt.OCI_LAYER)
    assert (d.digest, d.size) == (digest_of(b"abc"), 3)
    empty = Descriptor.empty_json()
    assert EMPTY_JSON == b"{}"
    assert str(empty.digest) == (
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    )
    assert (empty.media_type, empty.size) == (mt.OCI_EMPTY_JSON, 2)


def good() -> dict[str, object]:
    return {"mediaType": mt.OCI_LAYER, "digest": D, "size": 3}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mediaType": None}, "mediaType is required|mediaType must be a string"),
        ({"mediaType": "not a media type"}, "mediaType 'not a media type' is not a valid"),
        ({"digest": "sha256:xyz"}, "digest 'sha256:xyz'"),
        ({"digest": "md5:" + "a" * 32}, "unsupported digest algorithm"),
        ({"digest": 5}, "digest must be a string, got number"),
        ({"size": "3"}, "size must be a non-negative integer, got string"),
        ({"size": -1}, "size must be a non-negative integer, got -1"),
        ({"size": 3.0}, "size must be a non-negative integer, got number"),
        ({"size": True}, "size must be a non-negative integer, got boolean"),
        ({"size": 2**63}, "size must be a non-negative integer"),
        ({"urls": "https://x"}, "urls must be an array of strings"),
        ({"urls": [1]}, r"urls\[0\] must be a string"),
        ({"annotations": {"a": 1}}, r"annotations\['a'\] must be a string"),
        ({"annotations": []}, "annotations must be an object"),
        ({"platform": {"os": "linux"}}, "platform.architecture is required"),
        ({"artifactType": "bad"}, "artifactType 'bad' is not a valid media type"),
        ({"data": "!!!"}, "data is not valid base64"),
        ({"data": base64.b64encode(b"abc").decode()}, "data does not match"),
    ],
)
def test_from_json_strict(change: dict[str, object], message: str) -> None:
    obj = good()
    for key, value in change.items():
        if value is None:
            del obj[key]
        else:
            obj[key] = value
    with pytest.raises(ManifestInvalid, match=message):
        Descriptor.from_json(obj)


def test_from_json_missing_fields() -> None:
    for key in ("mediaType", "digest", "size"):
        obj = good()
        del obj[key]
        with pytest.raises(ManifestInvalid, match=f"{key} is required"):
            Descriptor.from_json(obj)
    with pytest.raises(ManifestInvalid, match="must be an object"):
        Descriptor.from_json([1, 2])


def test_error_names_the_path() -> None:
    with pytest.raises(ManifestInvalid, match=r"invalid manifest: layers\[3\]\.size"):
        Descriptor.from_json({**good(), "size": "x"}, what="manifest", where="layers[3]")


def test_data_matching_digest_is_kept() -> None:
    obj = {
        "mediaType": mt.OCI_EMPTY_JSON,
        "digest": str(digest_of(b"{}")),
        "size": 2,
        "data": "e30=",
    }
    assert Descriptor.from_json(obj).data == b"{}"


def test_unknown_fields_are_ignored_and_nulls_are_absent() -> None:
    obj = {**good(), "future": 1, "urls": None, "annotations": None, "platform": None}
    d = Descriptor.from_json(obj)
    assert (d.urls, d.annotations, d.platform) == (None, None, None)
