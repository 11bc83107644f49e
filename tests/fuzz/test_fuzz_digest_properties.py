"""Properties of dockyard.digest: parse accepts exactly the OCI grammar and round-trips."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.digest import Digest, digest_of
from dockyard.errors import DigestInvalid, Unsupported

from ._budget import fuzz_settings

pytestmark = pytest.mark.fuzz

_HEX = "0123456789abcdef"
_LENGTHS = {"sha256": 64, "sha512": 128}


def digest_like() -> st.SearchStrategy[str]:
    """Strings near the digest grammar: right and wrong algorithms, lengths, cases, junk."""
    algorithm = st.sampled_from(["sha256", "sha512", "SHA256", "md5", "sha256+b64", "", "a.b"])
    encoded = st.text(alphabet=_HEX + "ABCDEF=_-\n\r\t :/\x00é", max_size=140)
    return st.builds(lambda a, e: f"{a}:{e}", algorithm, encoded) | st.text(max_size=200)


@fuzz_settings(100)
@given(digest_like())
@example("sha256:" + "a" * 63 + "\n")  # "$" matched before a trailing newline
@example("sha512:" + "0" * 127 + "\n")
def test_parse_accepts_only_the_grammar(text: str) -> None:
    """Anything parses to a Digest whose text is exactly the input, or fails with
    DigestInvalid/Unsupported — nothing else, and never a digest holding other characters."""
    try:
        digest = Digest.parse(text)
    except (DigestInvalid, Unsupported):
        return
    assert str(digest) == text
    assert len(digest.hex) == _LENGTHS[digest.algorithm]
    assert set(digest.hex) <= set(_HEX)


@fuzz_settings(100)
@given(st.binary(max_size=4096), st.sampled_from(sorted(_LENGTHS)))
def test_digest_of_round_trips(data: bytes, algorithm: str) -> None:
    digest = digest_of(data, algorithm)
    assert digest.hex == hashlib.new(algorithm, data).hexdigest()
    assert Digest.parse(str(digest)) == digest
    assert Digest.is_valid(str(digest))
    digest.verify(data)
    with pytest.raises(DigestInvalid):
        digest.verify(data + b"x")


@fuzz_settings(100)
@given(st.lists(st.binary(max_size=64), min_size=2, max_size=8))
def test_order_follows_text(blobs: list[bytes]) -> None:
    """Digests sort as their text does (sorted listings and referrers depend on it)."""
    digests = [digest_of(b) for b in blobs]
    assert [str(d) for d in sorted(digests)] == sorted(str(d) for d in digests)
