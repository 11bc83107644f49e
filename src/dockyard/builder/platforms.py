"""``--platform a,b``: the target platforms of a build, parsed and checked before any work."""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.oci.platform import Platform

__all__ = ["BUILDABLE_ARCHITECTURES", "parse_platforms"]

#: Architectures a Linux image can be built for here: natively or through qemu-user.
BUILDABLE_ARCHITECTURES = frozenset(
    ["386", "amd64", "arm", "arm64", "loong64", "mips64", "mips64le", "ppc64le", "riscv64", "s390x"]
)
_EXAMPLE = "e.g. linux/amd64,linux/arm64,linux/arm/v7"


def parse_platforms(text: str) -> list[Platform]:
    """The platforms of ``--platform`` (comma-separated), normalised, in order, without repeats.

    An unknown operating system or architecture is an error naming it, raised before a build
    starts (docker's ``--platform linux/bogus`` fails the same way, in one line).
    """
    out: list[Platform] = []
    for part in text.split(","):
        item = part.strip()
        if not item:
            raise InvalidArgument(
                f"invalid --platform {text!r}: an empty platform in the list", hint=_EXAMPLE
            )
        platform = Platform.parse(item).normalized()
        if platform.os != "linux":
            raise InvalidArgument(
                f"cannot build for platform {item!r}: only linux images can be built",
                hint=_EXAMPLE,
            )
        if platform.architecture not in BUILDABLE_ARCHITECTURES:
            known = ", ".join(sorted(BUILDABLE_ARCHITECTURES))
            raise InvalidArgument(
                f"unknown architecture {platform.architecture!r} in platform {item!r}",
                hint=f"use one of {known} ({_EXAMPLE})",
            )
        if platform not in out:
            out.append(platform)
    return out
