"""Hypothesis strategies for the names the registry and the reference parser take."""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["component", "digest_text", "domain", "repo_path", "tag"]

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@st.composite
def component(draw: st.DrawFn) -> str:
    """One path component: alnum runs joined by '.', '_', '__' or dashes."""
    runs = draw(st.lists(st.text(_ALNUM, min_size=1, max_size=6), min_size=1, max_size=3))
    out = runs[0]
    for run in runs[1:]:
        out += draw(st.sampled_from([".", "_", "__", "-", "--"])) + run
    return out


def repo_path(max_components: int = 4) -> st.SearchStrategy[str]:
    """A repository path (``team/app``), within the 255-character limit."""
    return (
        st.lists(component(), min_size=1, max_size=max_components)
        .map("/".join)
        .filter(lambda p: len(p) <= 255)
    )


def tag() -> st.SearchStrategy[str]:
    return st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


def digest_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h),
        st.text("0123456789abcdef", min_size=128, max_size=128).map(lambda h: "sha512:" + h),
    )


def domain() -> st.SearchStrategy[str]:
    """A registry host: a DNS-ish name with a dot or a port, localhost, IPv4 or [IPv6]."""
    label = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)
    port = st.integers(1, 65535).map(lambda p: f":{p}")
    dotted = st.lists(label, min_size=2, max_size=3).map(".".join)
    host = st.one_of(
        dotted,
        st.just("localhost"),
        st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
        st.just("[::1]"),
    )
    return st.one_of(
        st.tuples(host, port).map("".join),
        dotted,
        st.just("localhost"),
        st.tuples(label.map(str.lower), port).map("".join),
    )
