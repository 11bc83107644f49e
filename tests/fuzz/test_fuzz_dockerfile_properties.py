"""The Dockerfile frontend on arbitrary text: a parsed Dockerfile or a DockyardError (with its
line), never another exception, and never a hang (each example has a deadline). What parses
goes on to the stage graph, under the same rule."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dockyard.builder.frontend import BuildGraph, parse_dockerfile
from dockyard.errors import DockyardError
from dockyard.oci import Platform

from ._budget import fuzz_settings

pytestmark = pytest.mark.fuzz

_INSTRUCTIONS = [
    "FROM",
    "RUN",
    "CMD",
    "ENTRYPOINT",
    "SHELL",
    "ENV",
    "LABEL",
    "ARG",
    "EXPOSE",
    "VOLUME",
    "USER",
    "WORKDIR",
    "MAINTAINER",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "COPY",
    "ADD",
    "ONBUILD",
    "from",
    "Run",
    "BOGUS",
]
_TOKENS = [
    " ",
    " ",
    "\t",
    "\\",
    "\\\n",
    "`",
    "\n",
    "\r\n",
    "#",
    "# syntax=docker/dockerfile:1\n",
    "# escape=`\n",
    "# check=skip=all\n",
    "AS",
    "as",
    "busybox",
    "scratch",
    "alpine:3.19",
    "--platform=$BUILDPLATFORM",
    "--from=0",
    "--from=build",
    "--chown=1:1",
    "--chmod=755",
    "--link",
    "--mount=type=cache,target=/c",
    "--mount=type=secret,id=x",
    "--network=none",
    "--interval=5s",
    "--retries=3",
    "--start-period=",
    "NONE",
    "CMD",
    "[",
    "]",
    '"',
    "'",
    ",",
    '["sh", "-c", "echo"]',
    '["a"',
    "$",
    "${",
    "}",
    "${A:-b}",
    "${A:+x}",
    "${A#*}",
    "${A%%.*}",
    "${A/x/y}",
    "$A",
    "=",
    "A=b",
    'A="b c"',
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    '<<"EOF"',
    "EOF",
    "0<<X",
    "X",
    "/app",
    "./",
    "..",
    "*",
    "?",
    "[a-",
    "80/tcp",
    "8080-8090/udp",
    "SIGKILL",
    "RTMIN+3",
    "root:root",
    "1000",
    "\x00",
    "é",
    "\ufeff",
]


def dockerfile_text() -> st.SearchStrategy[str]:
    line = st.tuples(
        st.sampled_from(_INSTRUCTIONS),
        st.lists(st.sampled_from(_TOKENS) | st.text(max_size=6), max_size=10).map("".join),
    ).map(lambda t: f"{t[0]} {t[1]}")
    lines = st.lists(line | st.sampled_from(_TOKENS), min_size=1, max_size=12)
    return st.one_of(
        lines.map("\n".join),
        lines.map(lambda ls: "FROM busybox AS base\n" + "\n".join(ls)),
        st.text(max_size=400),
    )


@fuzz_settings(300, deadline_ms=10_000)
@given(dockerfile_text())
@example("FROM busybox\nRUN <<EOF\n")
@example("# escape=`\nFROM busybox\nRUN a `\n")
@example("FROM a AS 0\nFROM ${A:-${B:-${C")
@example("FROM busybox\nRUN " + "\\\n" * 2000 + "true")
@example("FROM busybox\nENV " + "A=${A}" * 500)
@example("FROM busybox\nCOPY --from=" + "x" * 10_000 + " / /")
def test_parse_dockerfile_fails_only_as_dockyard_error(text: str) -> None:
    try:
        dockerfile = parse_dockerfile(text)
    except DockyardError as exc:
        str(exc)  # the rendered message (with its source snippet) must not fail either
        return
    assert dockerfile.stages, "a Dockerfile that parses has at least one stage"
    # then the stage graph: bases, ARG expansion, --from and COPY --from dependencies
    try:
        BuildGraph.create(
            dockerfile,
            build_args={"A": "${B}", "B": "$A", "BUILDPLATFORM": "linux/arm64"},
            platform=Platform.parse("linux/amd64"),
            build_platform=Platform.parse("linux/amd64"),
        )
    except DockyardError as exc:
        str(exc)


@fuzz_settings(100, deadline_ms=10_000)
@given(st.binary(max_size=300))
def test_parse_dockerfile_bytes(raw: bytes) -> None:
    try:
        parse_dockerfile(raw)
    except DockyardError as exc:
        str(exc)
