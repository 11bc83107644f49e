"""The checks before a multi-platform build starts: platform lists, and which RUN steps need
which qemu handler (binfmt_misc read from a directory laid out as the kernel shows it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.builder.emulation import (
    check_platforms,
    emulated_platforms,
    handler_for,
    is_native,
    qemu_name,
)
from dockyard.builder.frontend import BuildGraph, parse_dockerfile
from dockyard.builder.platforms import parse_platforms
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.oci.platform import Platform

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")
ARMV7 = Platform("linux", "arm", "v7")


def test_parse_platforms_normalises_and_keeps_order() -> None:
    got = parse_platforms("linux/arm64/v8, linux/amd64,linux/aarch64,linux/arm")
    assert [str(p) for p in got] == ["linux/arm64", "linux/amd64", "linux/arm/v7"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("linux/bogus", "unknown architecture 'bogus' in platform 'linux/bogus'"),
        ("linux/amd64,,linux/arm64", "an empty platform in the list"),
        ("darwin/arm64", "only linux images can be built"),
        ("linux/amd64/x/y", "invalid platform"),
    ],
)
def test_parse_platforms_rejects(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_platforms(text)


def test_native_and_qemu_names() -> None:
    assert is_native(AMD64, AMD64) and is_native(Platform("linux", "386"), AMD64)
    assert not is_native(ARM64, AMD64) and not is_native(AMD64, ARM64)
    assert [qemu_name(p) for p in (ARM64, ARMV7, Platform("linux", "ppc64le"))] == [
        "aarch64",
        "arm",
        "ppc64le",
    ]


def _binfmt(tmp_path: Path, entries: dict[str, str]) -> Path:
    d = tmp_path / "binfmt_misc"
    d.mkdir()
    (d / "register").write_text("")
    (d / "status").write_text("enabled\n")
    for name, text in entries.items():
        (d / name).write_text(text)
    return d


def test_handler_states(tmp_path: Path) -> None:
    d = _binfmt(
        tmp_path,
        {
            "qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
            "flags: PF\noffset 0\nmagic 7f454c46\n",
            "qemu-arm": "disabled\ninterpreter /usr/bin/qemu-arm\nflags: OC\n",
        },
    )
    arm64 = handler_for(ARM64, d)
    assert arm64 is not None and arm64.enabled and arm64.fix_binary
    assert arm64.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
    check_platforms([ARM64], d)
    with pytest.raises(FailedPrecondition, match="qemu-arm binfmt_misc handler is disabled") as e:
        check_platforms([ARM64, ARMV7], d)
    assert e.value.hint == "enable it: update-binfmts --enable qemu-arm"
    with pytest.raises(FailedPrecondition, match="no qemu-s390x binfmt_misc handler") as e:
        check_platforms([Platform("linux", "s390x")], d)
    assert e.value.hint == (
        "install one: apt-get install qemu-user-static binfmt-support, "
        "then update-binfmts --enable qemu-s390x"
    )
    with pytest.raises(FailedPrecondition, match="binfmt_misc is not mounted"):
        check_platforms([ARM64], tmp_path / "nowhere")


def _graph(text: str, target: Platform) -> BuildGraph:
    return BuildGraph.create(parse_dockerfile(text), platform=target, build_platform=AMD64)


def test_which_stages_need_emulation() -> None:
    cross = (
        "FROM --platform=$BUILDPLATFORM golang AS build\nRUN go build\n"
        "FROM alpine AS unused\nRUN exit 1\n"
        "FROM scratch\nCOPY --from=build /app /app\n"
    )
    assert emulated_platforms(_graph(cross, ARM64), AMD64) == []  # pinned stage, no RUN after
    emulated = (
        "FROM --platform=$BUILDPLATFORM golang AS build\nRUN go build\nFROM alpine\nRUN true\n"
    )
    assert emulated_platforms(_graph(emulated, ARM64), AMD64) == [ARM64]
    assert emulated_platforms(_graph(emulated, AMD64), AMD64) == []
    pinned = "FROM --platform=linux/arm/v7 alpine\nRUN true\n"
    assert emulated_platforms(_graph(pinned, AMD64), AMD64) == [ARMV7]
