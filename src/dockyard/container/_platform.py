"""``--platform`` of ``run``: parsed, and checked that this machine can run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.oci import Platform

__all__ = ["check_platform"]


def check_platform(text: str | None) -> Platform | None:
    """``--platform``, parsed; an operating system other than linux or an architecture that
    cannot run here is an error naming it (as ``build --platform`` says it); a foreign one
    needs a qemu-user binfmt_misc handler, checked now (FailedPrecondition naming the command
    that installs one) rather than failing with ``exec format error`` once the container
    starts."""
    if not text:
        return None
    from dockyard.builder.platforms import BUILDABLE_ARCHITECTURES
    from dockyard.errors import InvalidArgument
    from dockyard.oci import Platform  # a run without --platform loads no image model

    wanted = Platform.parse(text).normalized()
    if wanted.os != "linux":
        raise InvalidArgument(
            f"cannot run platform {text!r}: only linux containers run here",
            hint="e.g. --platform linux/arm64",
        )
    if wanted.architecture not in BUILDABLE_ARCHITECTURES:
        known = ", ".join(sorted(BUILDABLE_ARCHITECTURES))
        raise InvalidArgument(
            f"unknown architecture {wanted.architecture!r} in platform {text!r}",
            hint=f"use one of {known}",
        )
    if wanted.rank(Platform.current()) is None:
        from dockyard.builder.emulation import check_platforms

        check_platforms([wanted], what="containers")
    return wanted
