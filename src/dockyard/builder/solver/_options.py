"""What a build is asked to do: the library's equivalent of ``docker build``'s flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dockyard.builder.solver._secrets import parse_secret
from dockyard.errors import InvalidArgument
from dockyard.oci.platform import Platform

if TYPE_CHECKING:  # --cache-from/--cache-to code loads only when a build has them
    from dockyard.builder.cache.spec import CacheSpec
    from dockyard.builder.cache.transfer import ImportedCache
    from dockyard.builder.solver._solver import SharedSteps

__all__ = ["BuildOptions", "OutputSpec", "parse_output", "parse_secret", "source_date_epoch"]

OutputType = Literal["store", "oci", "docker", "local"]


@dataclass(frozen=True)
class OutputSpec:
    """``--output type=…,dest=…``: the store (default), an OCI or docker archive, a directory."""

    type: OutputType = "store"
    dest: Path | None = None


def parse_output(text: str) -> OutputSpec:
    """Parse ``type=oci,dest=out.tar`` (or a bare path, meaning ``type=local,dest=path``)."""
    if "=" not in text:
        return OutputSpec("local", Path(text))
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, eq, value = part.partition("=")
        if not eq:
            raise InvalidArgument(f"invalid --output field {part!r}: expected key=value")
        fields[key.strip().lower()] = value
    kind = fields.pop("type", "local")
    if kind in ("image", "registry"):
        kind = "store"
    if kind not in ("store", "oci", "docker", "local", "tar"):
        raise InvalidArgument(
            f"unsupported --output type {kind!r}: use store, oci, docker or local"
        )
    dest = fields.pop("dest", None)
    fields.pop("name", None)
    if fields:
        raise InvalidArgument(f"unsupported --output option(s): {', '.join(sorted(fields))}")
    if kind == "tar":
        kind = "oci"
    if kind != "store" and not dest:
        raise InvalidArgument(f"--output type={kind} needs dest=<path> (use - for stdout)")
    return OutputSpec(kind, Path(dest) if dest else None)  # type: ignore[arg-type]


def source_date_epoch(env: Mapping[str, str] | None = None) -> int | None:
    """``SOURCE_DATE_EPOCH`` from the environment (or build args), if set."""
    text = (env if env is not None else os.environ).get("SOURCE_DATE_EPOCH", "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"SOURCE_DATE_EPOCH must be an integer, got {text!r}") from None


@dataclass
class BuildOptions:
    """Everything ``dockyard build`` takes. ``context`` is a directory (a tar context is
    unpacked into one first); ``dockerfile`` is a path, or ``dockerfile_text`` the contents."""

    context: Path
    dockerfile: Path | None = None
    dockerfile_text: str | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    pull: bool = False
    platform: Platform | None = None
    network: Literal["host", "none"] = "host"
    secrets: dict[str, Path] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    outputs: list[OutputSpec] = field(default_factory=list)
    push: bool = False
    iidfile: Path | None = None
    source_date_epoch: int | None = None
    runtime: str | None = None
    #: ignore patterns given by the caller (a tar context was already filtered: ``[]``)
    ignore_patterns: list[str] | None = None
    #: open /bin/sh (on this process's stdin/stdout) in a failed RUN's filesystem
    debug_shell: bool = False
    #: ``--cache-from``: records (and lazily, layers) to use besides the store's own
    cache_from: list[CacheSpec] = field(default_factory=list)
    #: ``--cache-to``: where this build's cache records and layers are exported
    cache_to: list[CacheSpec] = field(default_factory=list)
    #: ``--cache-to`` modes whose records the build gathers in :attr:`BuiltImage.cache_records`
    #: without exporting them (a multi-platform build exports its platforms' records as one)
    cache_modes: tuple[str, ...] = ()
    #: ``--cache-from`` records already read (by a multi-platform build, once for its platforms)
    imported_cache: ImportedCache | None = field(default=None, compare=False, repr=False)
    #: builds running side by side (one per platform) that run each identical step once
    shared_steps: SharedSteps | None = field(default=None, compare=False, repr=False)
