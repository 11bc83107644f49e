"""The doublestar matcher against bmatcuk/doublestar v1.3.4's own table (``doublestar_test.go``,
``matchTests``, the version Harbor's selectors use), plus Harbor's selector cases."""

from __future__ import annotations

import pytest

from dockyard.registry.immutability import BadPattern, match

BAD = None  # doublestar answers ErrBadPattern

#: (pattern, name, matches) — bmatcuk/doublestar v1.3.4 ``matchTests``, in order (the cases
#: that need files on disk only, symlinks, are left out).
DOUBLESTAR: list[tuple[str, str, bool | None]] = [
    ("*", "", True), ("*", "/", False), ("/*", "/", True), ("/*", "/debug/", False),
    ("/*", "//", False), ("abc", "abc", True), ("*", "abc", True), ("*c", "abc", True),
    ("*/", "a/", True), ("a*", "a", True), ("a*", "abc", True), ("a*", "ab/c", False),
    ("a*/b", "abc/b", True), ("a*/b", "a/c/b", False), ("a*b*c*d*e*", "axbxcxdxe", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/f", True), ("a*b*c*d*e*/f", "axbxcxdxexxx/f", True),
    ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", False), ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", False),
    ("a*b?c*x", "abxbbxdbxebxczzx", True), ("a*b?c*x", "abxbbxdbxebxczzy", False),
    ("ab[c]", "abc", True), ("ab[b-d]", "abc", True), ("ab[e-g]", "abc", False),
    ("ab[^c]", "abc", False), ("ab[^b-d]", "abc", False), ("ab[^e-g]", "abc", True),
    ("a\\*b", "ab", False), ("a?b", "a☺b", True), ("a[^a]b", "a☺b", True),
    ("a???b", "a☺b", False), ("a[^a][^a][^a]b", "a☺b", False), ("[a-ζ]*", "\u03b1", True),
    ("*[a-ζ]", "A", False), ("a?b", "a/b", False), ("a*b", "a/b", False),
    ("[\\]a]", "]", True), ("[\\-]", "-", True), ("[x\\-]", "x", True), ("[x\\-]", "-", True),
    ("[x\\-]", "z", False), ("[\\-x]", "x", True), ("[\\-x]", "-", True),
    ("[\\-x]", "a", False),
    ("[]a]", "]", BAD), ("[-]", "-", BAD), ("[x-]", "x", BAD), ("[x-]", "-", BAD),
    ("[x-]", "z", BAD), ("[-x]", "x", BAD), ("[-x]", "-", BAD), ("[-x]", "a", BAD),
    ("\\", "a", BAD), ("[a-b-c]", "a", BAD), ("[", "a", BAD), ("[^", "a", BAD),
    ("[^bc", "a", BAD), ("a[", "ab", BAD),
    ("*x", "xxx", True), ("[abc]", "b", True), ("a/**", "a", False), ("a/**", "a/b", True),
    ("a/**", "a/b/c", True), ("**/c", "c", True), ("**/c", "b/c", True),
    ("**/c", "a/b/c", True), ("**/c", "a/b", False), ("**/c", "abcd", False),
    ("**/c", "a/abc", False), ("a/**/b", "a/b", True), ("a/**/c", "a/b/c", True),
    ("a/**/d", "a/b/c/d", True), ("a/\\**", "a/b/c", False), ("a//b/c", "a/b/c", False),
    ("a/b/c", "a/b//c", False), ("a/", "a", False), ("ab{c,d}", "abc", True),
    ("ab{c,d,*}", "abcde", True), ("ab{c,d}[", "abcd", BAD), ("a{,bc}", "a", True),
    ("a{,bc}", "abc", True), ("a/{b/c,c/b}", "a/b/c", True), ("a/{b/c,c/b}", "a/c/b", True),
    ("{a/{b,c},abc}", "a/b", True), ("{a/{b,c},abc}", "a/c", True),
    ("{a/{b,c},abc}", "abc", True), ("{a/{b,c},abc}", "a/b/c", False),
    ("{a/ab*}", "a/abc", True), ("{a/*}", "a/b", True), ("{a/abc}", "a/abc", True),
    ("{a/b,a/c}", "a/c", True), ("abc/**", "abc/b", True), ("**/abc", "abc", True),
    ("abc**", "abc/b", False), ("**/*.txt", "abc/【test】.txt", True),
    ("**/【*", "abc/【test】.txt", True),
]  # fmt: skip

#: Harbor's doublestar selector tests (``src/lib/selector/selectors/doublestar``) and the
#: patterns its documentation shows for tags and repositories.
HARBOR: list[tuple[str, str, bool | None]] = [
    ("{latest,4.*}", "latest", True), ("{latest,4.*}", "4.0", True),
    ("{latest,4.*}", "4.1", True), ("{latest,4.*}", "5.0", False), ("4.*", "latest", False),
    ("{redis}", "redis", True), ("har*", "harbor", True), ("har*", "redis", False),
    ("re*", "redis", True), ("v*.*.*", "v1.2.3", True), ("v*.*.*", "v1.2", False),
    ("v*.*.*", "v1.2.3-rc1", True), ("{v*.*.*,latest}", "latest", True),
    ("{v*.*.*,latest}", "dev", False), ("**", "", True), ("**", "team/app", True),
    ("nginx/**", "nginx/web/prod", True), ("release-[0-9]*", "release-2", True),
    ("release-[0-9]*", "release-x", False), ("release-?", "release-10", False),
]  # fmt: skip


@pytest.mark.parametrize(("pattern", "name", "expected"), DOUBLESTAR + HARBOR)
def test_doublestar_table(pattern: str, name: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(BadPattern):
            match(pattern, name)
    else:
        assert match(pattern, name) is expected


def test_a_bad_pattern_is_found_whatever_it_is_matched_against() -> None:
    """doublestar only notices ``a[`` once a match reaches the ``[`` (``a[`` against ``a`` is
    plain false there); here every malformed pattern is refused, so a rule never holds one."""
    for pattern in ("a[", "ab{c", "x\\", "{a,b", "[z-"):
        with pytest.raises(BadPattern, match="invalid pattern"):
            match(pattern, "a")
