"""``dockyard.storefiles.names.tag_name`` (string operations) against ``Reference`` (the grammar): the
same full tag name for every valid tag reference, and for anything else either None or a name
that is not a valid canonical reference, which the store's tags table cannot hold."""

from __future__ import annotations

import pytest

from dockyard.errors import DockyardError
from dockyard.reference import Reference
from dockyard.storefiles.names import tag_name

VALID = [
    "busybox",
    "busybox:1",
    "bench:1.36_rc-2",
    "library/busybox:latest",
    "docker.io/busybox",
    "docker.io/library/busybox:1",
    "index.docker.io/busybox:1",
    "index.docker.io/library/busybox",
    "user/app",
    "user/app:v1",
    "a/b/c/d:e",
    "my-reg.example.com/team/app:1",
    "my-reg.example.com:5000/team/app",
    "localhost/app:1",
    "localhost:5000/app",
    "127.0.0.1:5000/a/b:c",
    "[::1]:5000/app:tag",
    "Example.COM/app:1",
    "UPPER/app:1",  # UPPER is a domain
    "a__b/c.d_e--f:g",
    "docker.io/" + "0" * 64,  # a name with slashes may be all hex
    "x" * 247 + ":t",  # 255 with library/
]

INVALID = [
    "Busybox",
    "busybox:",
    "busybox:-x",
    "busybox:" + "t" * 129,
    "user/App:1",
    "user//app",
    "/app",
    "app/",
    "app:1:2",
    "a b",
    "app:t g",
    "x" * 256,
    "docker.io/library/" + "x" * 250,
    "-app",
    "app-",
    "exa_mple.com/app",
    " busybox",
    "busybox ",
    ":tag",
]

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("text", VALID)
def test_a_valid_tag_reference_gets_the_full_name_reference_gives(text: str) -> None:
    assert tag_name(text) == str(Reference.parse_with_default_tag(text))


@pytest.mark.parametrize("text", INVALID)
def test_an_invalid_name_gets_no_name_the_tags_table_can_hold(text: str) -> None:
    with pytest.raises(DockyardError):
        Reference.parse(text)
    name = tag_name(text)
    if name is not None:
        with pytest.raises(DockyardError):
            Reference.parse_canonical(name)


@pytest.mark.parametrize("text", ["", "busybox@" + DIGEST, "busybox:1@" + DIGEST, "a" * 64])
def test_digests_ids_and_nothing_get_none(text: str) -> None:
    assert tag_name(text) is None
