"""Pure parts of the client: challenges, locations, config keys, Retry-After, localhost."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.client import config_key, is_localhost, parse_challenge
from dockyard.client._errors import parse_retry_after, response_error
from dockyard.errors import InvalidArgument, ManifestUnknown, NotFound, Unauthorized
from dockyard.image.transports import parse_location


def test_parse_bearer_challenge() -> None:
    c = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert c is not None and c.scheme == "bearer"
    assert c.realm == "https://auth.example/token"
    assert c.params["service"] == "registry.example"
    assert c.params["scope"] == "repository:a/b:pull,push"
    basic = parse_challenge('Basic realm="x"')
    assert basic is not None and basic.scheme == "basic"
    assert parse_challenge(None) is None


@pytest.mark.parametrize(
    ("text", "kind", "path", "name", "ref"),
    [
        ("docker://localhost:5000/a/b:1", "docker", None, None, "localhost:5000/a/b:1"),
        ("oci:/x/dir", "oci", "/x/dir", None, None),
        ("oci:dir:tag", "oci", "dir", "tag", None),
        ("oci-archive:f.tar:v1", "oci-archive", "f.tar", "v1", None),
        ("docker-archive:f.tar:app:1", "docker-archive", "f.tar", "app:1", None),
        ("busybox", "store", None, None, "docker.io/library/busybox:latest"),
    ],
)
def test_parse_location(
    text: str, kind: str, path: str | None, name: str | None, ref: str | None
) -> None:
    loc = parse_location(text)
    assert loc.kind == kind
    assert loc.path == (Path(path) if path else None)
    assert loc.name == name
    assert (str(loc.ref) if loc.ref else None) == ref


def test_parse_location_rejects_unknown_transport() -> None:
    with pytest.raises(InvalidArgument, match="unsupported transport"):
        parse_location("containers-storage:foo")
    with pytest.raises(InvalidArgument, match="needs a path"):
        parse_location("oci:")


def test_config_keys_match_docker() -> None:
    assert config_key("docker.io") == "https://index.docker.io/v1/"
    assert config_key("https://index.docker.io/v1/") == "https://index.docker.io/v1/"
    assert config_key("localhost:5000") == "localhost:5000"
    assert config_key("https://reg.example/") == "reg.example"


def test_localhost_style_registries() -> None:
    assert is_localhost("localhost:5000") and is_localhost("127.0.0.2:80")
    assert is_localhost("[::1]:5000") and is_localhost("localhost")
    assert not is_localhost("registry.example:5000") and not is_localhost("10.0.0.1")


def test_retry_after_and_oci_error_bodies() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after(None) is None
    body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'
    err = response_error(404, body, host="h", what="pull h/a:1")
    assert isinstance(err, ManifestUnknown) and "dockyard tags" in str(err)
    err = response_error(
        404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"x"}]}', host="h", what="w"
    )
    assert isinstance(err, NotFound) and "repository not found" in str(err)
    err = response_error(401, b"", host="h:1", what="w")
    assert isinstance(err, Unauthorized) and "dockyard login h:1" in str(err)
    err = response_error(503, b"busy", host="h", what="w")
    assert err.retryable
