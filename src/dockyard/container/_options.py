"""What ``dockyard run`` is asked for, and the parsing of its ``-v``, ``-e`` and ``--env-file``."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from dockyard.errors import InvalidArgument, NotFound

__all__ = ["BindVolume", "RunOptions", "parse_env", "parse_volume", "read_env_file"]


class BindVolume(NamedTuple):
    """``-v HOST:CTR[:ro]``: a host directory or file bind-mounted at ``target``."""

    source: Path
    target: str
    read_only: bool = False


class RunOptions(NamedTuple):
    """One ``run``: the image, the command and the flags, as given (nothing resolved yet)."""

    image: str
    command: tuple[str, ...] = ()
    entrypoint: str | None = None  #: ``--entrypoint``; "" clears the image's
    env: tuple[str, ...] = ()  #: ``K=V`` entries (``-e`` and ``--env-file``, already merged)
    volumes: tuple[BindVolume, ...] = ()
    workdir: str | None = None
    user: str | None = None
    network: Literal["host", "none"] = "host"
    name: str | None = None
    hostname: str | None = None
    read_only: bool = False
    tmpfs: tuple[str, ...] = ()  #: ``PATH[:OPTIONS]``
    tty: bool = False
    interactive: bool = False
    remove: bool = False


def parse_env(entries: Sequence[str], environ: Mapping[str, str] = os.environ) -> list[str]:
    """``-e`` values as docker takes them: ``K=V`` as is, a bare ``K`` from ``environ`` (dropped
    when unset there)."""
    out = []
    for entry in entries:
        key, sep, _ = entry.partition("=")
        if not key:
            raise InvalidArgument(f"invalid environment variable: {entry}")
        if sep:
            out.append(entry)
        elif key in environ:
            out.append(f"{key}={environ[key]}")
    return out


def read_env_file(path: Path, environ: Mapping[str, str] = os.environ) -> list[str]:
    """``--env-file``: one ``K=V`` (or bare ``K``) a line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NotFound(f"open {path}: {exc.strerror or exc}") from None
    lines = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        if " " in line.partition("=")[0] or "\t" in line.partition("=")[0]:
            raise InvalidArgument(f"variable '{line.partition('=')[0]}' contains whitespaces")
        lines.append(line)
    return parse_env(lines, environ)


def parse_volume(spec: str) -> BindVolume:
    """``HOST:CTR[:ro|rw]``, ``HOST`` an absolute host path (named volumes are not supported)."""
    parts = spec.split(":")
    mode = ""
    if len(parts) == 3:
        mode = parts.pop()
    if len(parts) != 2 or not parts[0] or not parts[1] or mode not in ("", "ro", "rw"):
        raise InvalidArgument(
            f"invalid volume specification: '{spec}': use HOST_DIR:CONTAINER_DIR[:ro]"
        )
    host, target = parts
    if not host.startswith("/"):
        raise InvalidArgument(
            f"invalid volume specification: '{spec}': named volumes are not supported; "
            "give an absolute host path"
        )
    if not target.startswith("/"):
        raise InvalidArgument(
            f"invalid volume specification: '{spec}': mount path must be absolute"
        )
    if posixpath.normpath(target) == "/":
        raise InvalidArgument(f"invalid volume specification: '{spec}': cannot mount over /")
    return BindVolume(Path(host), posixpath.normpath(target), mode == "ro")
