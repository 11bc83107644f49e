"""Reference parsing must agree with Docker's distribution/reference, cases and messages."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, ReferenceInvalid
from dockyard.reference import Reference

D256 = "sha256:" + "a" * 64
D512 = "sha512:" + "b" * 128


@pytest.mark.parametrize(
    ("text", "domain", "path", "tag", "digest"),
    [
        ("busybox", "docker.io", "library/busybox", None, None),
        ("busybox:latest", "docker.io", "library/busybox", "latest", None),
        ("busybox:1.36.1-musl", "docker.io", "library/busybox", "1.36.1-musl", None),
        ("ubuntu:Latest", "docker.io", "library/ubuntu", "Latest", None),
        ("user/app", "docker.io", "user/app", None, None),
        ("user/app/sub", "docker.io", "user/app/sub", None, None),
        ("docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("docker.io/library/busybox", "docker.io", "library/busybox", None, None),
        ("index.docker.io/busybox", "docker.io", "library/busybox", None, None),
        ("index.docker.io/user/app:v1", "docker.io", "user/app", "v1", None),
        ("localhost/app", "localhost", "app", None, None),
        ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", None),
        ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", None, None),
        ("ghcr.io/owner/repo:v1.2", "ghcr.io", "owner/repo", "v1.2", None),
        ("example.com/library/x", "example.com", "library/x", None, None),
        ("registry:5000/app", "registry:5000", "app", None, None),
        ("[::1]:5000/app:t", "[::1]:5000", "app", "t", None),
        ("[2001:db8::1]/app", "[2001:db8::1]", "app", None, None),
        ("Example.COM/app", "Example.COM", "app", None, None),
        ("Foo/bar", "Foo", "bar", None, None),  # uppercase first part is a domain
        ("my-registry.example-1.com/a", "my-registry.example-1.com", "a", None, None),
        ("a.b-c--d/e", "a.b-c--d", "e", None, None),
        ("a__b/c.d_e---f", "docker.io", "a__b/c.d_e---f", None, None),
        ("busybox@" + D256, "docker.io", "library/busybox", None, D256),
        ("busybox:1@" + D256, "docker.io", "library/busybox", "1", D256),
        ("localhost:5000/x@" + D512, "localhost:5000", "x", None, D512),
        ("localhost:5000", "docker.io", "library/localhost", "5000", None),
    ],
)
def test_parse_valid(
    text: str, domain: str, path: str, tag: str | None, digest: str | None
) -> None:
    ref = Reference.parse(text)
    assert (ref.domain, ref.path, ref.tag) == (domain, path, tag)
    assert ref.digest == (Digest.parse(digest) if digest else None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "invalid reference format"),
        (
            "Busybox",
            "invalid reference format: repository name (library/Busybox) must be lowercase",
        ),
        ("user/App", "invalid reference format: repository name (user/App) must be lowercase"),
        (
            "docker.io/User/app:tag",
            "invalid reference format: repository name (User/app) must be lowercase",
        ),
        ("Foo_Bar/x", "repository name must be lowercase"),
        ("a:b:c", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("busybox:-tag", "invalid reference format"),
        ("busybox:.tag", "invalid reference format"),
        ("busybox:" + "t" * 129, "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("busybox@", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busybox-", "invalid reference format"),
        ("bus..ybox", "invalid reference format"),
        ("bus___ybox", "invalid reference format"),
        ("a//b", "invalid reference format"),
        ("a/b/", "invalid reference format"),
        ("/a", "invalid reference format"),
        ("http://example.com/a", "invalid reference format"),
        ("exa_mple.com/a", "invalid reference format"),
        ("a.b__c/e", "invalid reference format"),
        ("a b", "invalid reference format"),
        ("a@b@" + D256, "invalid reference format"),
        ("bus\u00fcbox", "invalid reference format"),
        ("[::1/app", "invalid reference format"),
        ("a" * 64, "cannot specify 64-byte hexadecimal strings"),
        ("x@sha256:" + "A" * 64, "invalid checksum digest format"),
        ("x@sha256:" + "a" * 63, "invalid checksum digest format"),
        ("x@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("a/" + "b" * 254, "repository name must not be more than 255 characters"),
    ],
)
def test_parse_invalid(text: str, message: str) -> None:
    with pytest.raises(ReferenceInvalid) as info:
        Reference.parse(text)
    assert message in str(info.value)
    assert isinstance(info.value, InvalidArgument)


def test_name_length_limit_is_on_the_path() -> None:
    path = "a/" + "b" * 253  # 255 characters
    assert Reference.parse(path).path == path
    assert len(Reference.parse("example.com/" + path).name) > 255
    with pytest.raises(ReferenceInvalid, match="more than 255"):
        Reference.parse(path + "b")


def test_tag_length_limit() -> None:
    assert Reference.parse("a:" + "t" * 128).tag == "t" * 128
    with pytest.raises(ReferenceInvalid):
        Reference.parse("a:" + "t" * 129)


@pytest.mark.parametrize(
    ("text", "full", "familiar", "familiar_name"),
    [
        ("busybox", "docker.io/library/busybox", "busybox", "busybox"),
        ("busybox:1", "docker.io/library/busybox:1", "busybox:1", "busybox"),
        ("library/busybox", "docker.io/library/busybox", "busybox", "busybox"),
        ("user/app:v1", "docker.io/user/app:v1", "user/app:v1", "user/app"),
        ("docker.io/library/a/b", "docker.io/library/a/b", "library/a/b", "library/a/b"),
        ("localhost:5000/a/b", "localhost:5000/a/b", "localhost:5000/a/b", "localhost:5000/a/b"),
        ("ghcr.io/library/x", "ghcr.io/library/x", "ghcr.io/library/x", "ghcr.io/library/x"),
        ("busybox@" + D256, "docker.io/library/busybox@" + D256, "busybox@" + D256, "busybox"),
        (
            "busybox:t@" + D256,
            "docker.io/library/busybox:t@" + D256,
            "busybox:t@" + D256,
            "busybox",
        ),
    ],
)
def test_string_forms(text: str, full: str, familiar: str, familiar_name: str) -> None:
    ref = Reference.parse(text)
    assert str(ref) == full
    assert ref.familiar == familiar
    assert ref.familiar_name == familiar_name
    # the full form parses back to the same reference
    assert Reference.parse(str(ref)) == ref
    assert Reference.parse(ref.familiar) == ref


def test_name_property() -> None:
    assert Reference.parse("localhost:5000/a:t").name == "localhost:5000/a"
    assert Reference.parse("busybox:1@" + D256).name == "docker.io/library/busybox"


def test_parse_with_default_tag() -> None:
    assert str(Reference.parse_with_default_tag("busybox")) == "docker.io/library/busybox:latest"
    assert Reference.parse_with_default_tag("busybox:1").tag == "1"
    by_digest = Reference.parse_with_default_tag("busybox@" + D256)
    assert by_digest.tag is None
    assert str(by_digest.digest) == D256


def test_parse_docker_ref_prefers_digest() -> None:
    ref = Reference.parse_docker_ref("busybox:1@" + D256)
    assert ref.tag is None
    assert str(ref) == "docker.io/library/busybox@" + D256
    assert str(Reference.parse_docker_ref("busybox")) == "docker.io/library/busybox:latest"


def test_parse_canonical() -> None:
    assert Reference.parse_canonical("docker.io/library/busybox:1").tag == "1"
    for text in ("busybox", "docker.io/busybox", "index.docker.io/library/busybox"):
        with pytest.raises(ReferenceInvalid, match="repository name must be canonical"):
            Reference.parse_canonical(text)


def test_with_tag_and_digest() -> None:
    ref = Reference.parse("busybox")
    tagged = ref.with_tag("v2")
    assert str(tagged) == "docker.io/library/busybox:v2"
    both = tagged.with_digest(D256)
    assert both.familiar == "busybox:v2@" + D256
    assert both.with_digest(Digest.parse(D512)).digest == Digest.parse(D512)
    assert both.without_tag_or_digest() == ref
    assert ref.is_name_only and not tagged.is_name_only
    with pytest.raises(ReferenceInvalid, match="invalid tag format"):
        ref.with_tag("-bad")
    with pytest.raises(ReferenceInvalid, match="invalid tag format"):
        ref.with_tag("t" * 129)
    with pytest.raises(ReferenceInvalid):
        ref.with_digest("sha256:nothex")


def test_frozen_and_hashable() -> None:
    a = Reference.parse("busybox:1")
    b = Reference.parse("docker.io/library/busybox:1")
    assert a == b
    assert {a, b} == {a}
    with pytest.raises(AttributeError):
        a.tag = "2"  # type: ignore[misc]


def test_direct_construction_is_validated() -> None:
    assert str(Reference("localhost:5000", "a/b", "t")) == "localhost:5000/a/b:t"
    with pytest.raises(ReferenceInvalid, match="must be lowercase"):
        Reference("docker.io", "library/Busybox")
    with pytest.raises(ReferenceInvalid):
        Reference("bad domain", "a")
    with pytest.raises(ReferenceInvalid):
        Reference("docker.io", "a", "-t")


def test_not_a_string() -> None:
    with pytest.raises(ReferenceInvalid):
        Reference.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["a" * 100_000 + "!", "a-" * 50_000 + "!", "a." * 50_000, "x.y/" + "a_" * 30_000 + "_"],
)
def test_long_hostile_input_is_fast(text: str) -> None:
    start = time.monotonic()
    with pytest.raises(ReferenceInvalid):
        Reference.parse(text)
    assert time.monotonic() - start < 1.0


# --- against a real Docker -------------------------------------------------------------------

# Cases on which every Docker since 20.10 agrees. Newer Docker (distribution/reference >= 0.5),
# which dockyard follows, also accepts IPv6 domains ("[::1]:5000/app") and treats an uppercase
# first component as a domain ("Foo/bar"), and names the repository in its lowercase error.
AGAINST_DOCKER = [
    "busybox",
    "busybox:1.36",
    "ubuntu:Latest",
    "user/app",
    "docker.io/library/plain",
    "index.docker.io/user/legacy:v1",
    "localhost/app",
    "localhost:5000/a/b:t",
    "127.0.0.1:5000/app",
    "a__b/c.d_e---f",
    "localhost:5000",
    "Busybox",
    "user/App",
    "Foo_Bar/x",
    "a:b:c",
    "busybox:-tag",
    "busybox:" + "t" * 129,
    "a//b",
    "-busybox",
    "a" * 64,
    "a/" + "b" * 254,
]


@pytest.mark.docker
def test_docker_agrees(busybox_image: Any, dockerd: Any) -> None:
    """`docker tag` accepts exactly what we accept, names it as we do, fails as we do."""
    for text in AGAINST_DOCKER:
        result = dockerd.run("tag", busybox_image.id, text, check=False)
        try:
            ref = Reference.parse_with_default_tag(text)
        except ReferenceInvalid as e:
            assert result.returncode != 0, text
            assert e.message.split(" (")[0].split(":")[0] in result.stderr, (text, result.stderr)
            continue
        assert result.returncode == 0, (text, result.stderr)
        tags = dockerd.run("image", "inspect", "--format", "{{json .RepoTags}}", text).stdout
        assert ref.familiar in json.loads(tags), (text, tags)
        dockerd.run("rmi", text)
