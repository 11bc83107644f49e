"""Properties of dockyard.reference: round trips, and nothing but ReferenceInvalid on bad text."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.digest import Digest
from dockyard.errors import InvalidArgument
from dockyard.reference import NAME_MAX_LENGTH, Reference

from ._budget import fuzz_settings
from ._grammar import digest_text, domain, repo_path, tag

pytestmark = pytest.mark.fuzz


@st.composite
def references(draw: st.DrawFn) -> Reference:
    d = draw(st.none() | st.builds(Digest.parse, digest_text()))
    t = draw(st.none() | tag())
    return Reference(draw(domain()), draw(repo_path()), t, d)


def near_references() -> st.SearchStrategy[str]:
    """Text a user might type, and text that only looks like it."""
    pieces = st.sampled_from(
        [
            "docker.io",
            "localhost:5000",
            "/",
            ":",
            "@",
            "sha256:",
            "a" * 64,
            "library",
            "..",
            "A",
            "-",
            "_",
            "__",
            "[::1]",
            "latest",
            "\n",
            " ",
            "\x00",
            "é",
            "@sha256:" + "0" * 64,
        ]
    )
    return st.one_of(
        st.lists(pieces | st.text(max_size=8), max_size=12).map("".join),
        st.text(max_size=300),
        references()
        .map(str)
        .flatmap(lambda s: st.integers(0, len(s)).map(lambda i: s[:i] + "\n" + s[i:])),
    )


@fuzz_settings(150)
@given(references())
def test_str_round_trips(ref: Reference) -> None:
    text = str(ref)
    assert Reference.parse(text) == ref
    assert Reference.parse_canonical(text) == ref
    assert Reference.parse(ref.familiar) == ref
    assert Reference.parse(ref.name).without_tag_or_digest() == ref.without_tag_or_digest()


@fuzz_settings(150)
@given(near_references())
@example("a" * 64)
@example("docker.io/library/busybox:latest\n")
@example("busybox@sha256:" + "0" * 63 + "\n")
@example("localhost:5000/" + "a" * (NAME_MAX_LENGTH + 1))
def test_parse_fails_only_as_invalid_argument(text: str) -> None:
    """Any text parses (and then round-trips) or is an InvalidArgument saying why."""
    for parse in (
        Reference.parse,
        Reference.parse_with_default_tag,
        Reference.parse_docker_ref,
        Reference.parse_canonical,
    ):
        try:
            ref = parse(text)
        except InvalidArgument as exc:
            assert str(exc)
            continue
        assert "\n" not in str(ref) and "\x00" not in str(ref)
        assert Reference.parse(str(ref)) == ref


@fuzz_settings(100)
@given(references(), st.text(max_size=140))
def test_with_tag_validates(ref: Reference, text: str) -> None:
    try:
        tagged = ref.with_tag(text)
    except InvalidArgument:
        return
    assert tagged.tag == text
    assert Reference.parse(str(tagged)) == tagged
