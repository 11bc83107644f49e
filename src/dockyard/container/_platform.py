"""``--platform`` of ``run``: parsed, and checked that this machine can run it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dockyard.oci import Platform

__all__ = ["check_platform"]


def check_platform(text: str | None) -> Platform | None:
    """``--platform``, parsed; a foreign one needs a qemu-user binfmt_misc handler, checked
    now (FailedPrecondition naming the command that installs one) rather than failing with
    ``exec format error`` once the container starts."""
    if not text:
        return None
    from dockyard.oci import Platform  # a run without --platform loads no image model

    wanted = Platform.parse(text).normalized()
    if wanted.rank(Platform.current()) is None:
        from dockyard.builder.emulation import check_platforms

        check_platforms([wanted], what="containers")
    return wanted
