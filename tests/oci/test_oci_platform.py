"""Platforms: parsing, containerd's normalisation and matching."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument, ManifestInvalid
from dockyard.oci import Platform


def p(text: str) -> Platform:
    return Platform.parse(text)


def test_parse_and_str() -> None:
    assert p("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    assert str(p("linux/arm64/v8")) == "linux/arm64/v8"
    assert str(p("linux/amd64")) == "linux/amd64"
    assert p("windows(10.0.17763)/amd64") == Platform("windows", "amd64", None, "10.0.17763")


def test_parse_single_part() -> None:
    host = Platform.current()
    assert p("linux") == Platform("linux", host.architecture, host.variant)
    assert p("arm64") == Platform(host.os, "arm64")
    with pytest.raises(InvalidArgument, match="unknown operating system or architecture"):
        p("nonsense")


@pytest.mark.parametrize(
    "text", ["", "linux/", "/amd64", "a/b/c/d", "linux/amd 64", "lin*ux/amd64"]
)
def test_parse_invalid(text: str) -> None:
    with pytest.raises(InvalidArgument):
        p(text)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64/8", "linux/arm64"),
        ("linux/arm64/v9.0", "linux/arm64/v9"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/arm/6", "linux/arm/v6"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/armel", "linux/arm/v6"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/x86-64", "linux/amd64"),
        ("linux/amd64/v1", "linux/amd64"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/i386", "linux/386"),
        ("Linux/AMD64", "linux/amd64"),
        ("macos/arm64", "darwin/arm64"),
        ("linux/s390x", "linux/s390x"),
    ],
)
def test_normalized(given: str, normal: str) -> None:
    assert str(p(given).normalized()) == normal


@pytest.mark.parametrize(
    ("image", "wanted"),
    [
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/aarch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v7", "linux/arm"),
        ("linux/amd64", "linux/amd64/v1"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/arm/v6", "linux/arm/v7"),  # an arm/v7 host runs arm/v6
        ("linux/arm/v5", "linux/arm/v7"),
        ("linux/arm/v7", "linux/arm64"),  # an arm64 host runs 32-bit arm
        ("linux/386", "linux/amd64"),
        ("linux/amd64/v2", "linux/amd64/v3"),
        ("linux/amd64", "linux/amd64/v3"),
        ("linux/arm64/v8.1", "linux/arm64/v8.2"),
        ("linux/arm64", "linux/arm64/v9"),
    ],
)
def test_matches(image: str, wanted: str) -> None:
    assert p(image).matches(p(wanted))


@pytest.mark.parametrize(
    ("image", "wanted"),
    [
        ("linux/arm64", "linux/amd64"),
        ("linux/arm/v7", "linux/arm/v6"),  # an arm/v6 host cannot run v7
        ("linux/amd64", "linux/386"),
        ("linux/amd64/v3", "linux/amd64"),
        ("linux/arm64", "linux/arm/v7"),
        ("windows/amd64", "linux/amd64"),
        ("unknown/unknown", "linux/amd64"),
        ("linux/arm64/v9", "linux/arm64"),
    ],
)
def test_does_not_match(image: str, wanted: str) -> None:
    assert not p(image).matches(p(wanted))


def test_rank_prefers_exact() -> None:
    wanted = p("linux/amd64/v3")
    assert p("linux/amd64/v3").rank(wanted) == 0
    ranks = [p(t).rank(wanted) for t in ("linux/amd64/v2", "linux/amd64", "linux/386")]
    assert ranks == [1, 2, 3]
    assert p("linux/arm64").rank(wanted) is None


def test_compatible_vector() -> None:
    assert [str(x) for x in p("linux/arm64").compatible()] == [
        "linux/arm64",
        "linux/arm/v8",
        "linux/arm/v7",
        "linux/arm/v6",
        "linux/arm/v5",
    ]
    assert [str(x) for x in p("linux/amd64/v2").compatible()] == [
        "linux/amd64/v2",
        "linux/amd64",
        "linux/386",
    ]


def test_os_features_and_version() -> None:
    wanted = Platform("windows", "amd64", os_features=("win32k",))
    assert Platform("windows", "amd64", os_features=("win32k", "x")).matches(wanted)
    assert not Platform("windows", "amd64").matches(wanted)
    assert not Platform("windows", "amd64", os_version="1").matches(
        Platform("windows", "amd64", os_version="2")
    )


def test_current_is_normalized() -> None:
    host = Platform.current()
    assert host == host.normalized()
    assert host.matches(host)


def test_json_round_trip() -> None:
    plat = Platform("windows", "amd64", None, "10.0.1", ("win32k",))
    obj = plat.to_json()
    assert list(obj) == ["architecture", "os", "os.version", "os.features"]
    assert Platform.from_json(obj) == plat
    assert Platform("linux", "arm", "v7").to_json() == {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
    }
    # unknown fields (the reserved "features") are ignored
    assert Platform.from_json({"os": "linux", "architecture": "amd64", "features": ["x"]}) == (
        Platform("linux", "amd64")
    )


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ({"architecture": "amd64"}, "os is required"),
        ({"os": "linux"}, "architecture is required"),
        ({"os": 1, "architecture": "amd64"}, "os must be a string"),
        ({"os": "linux", "architecture": "amd64", "variant": 8}, "variant must be a string"),
        ({"os": "linux", "architecture": "amd64", "os.features": "x"}, "os.features must be"),
        ("linux/amd64", "must be an object"),
    ],
)
def test_from_json_strict(obj: object, field: str) -> None:
    with pytest.raises(ManifestInvalid, match=field):
        Platform.from_json(obj)
