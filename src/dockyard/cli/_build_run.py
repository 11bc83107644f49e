"""``dockyard build``'s work, given the options click read: the build, its output, and the
no-op record (:mod:`dockyard.builder.cache.noop`) of a build that ran no step."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dockyard.builder.cache import noop
from dockyard.builder.cache.noop import progress_mode
from dockyard.builder.context import read_tar_context
from dockyard.builder.solver import (
    BuildOptions,
    BuiltImage,
    build,
    parse_output,
    parse_secret,
    source_date_epoch,
)
from dockyard.errors import InvalidArgument
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.builder.cache.spec import CacheSpec

__all__ = ["run_build"]


def _pairs(values: tuple[str, ...], what: str, *, env_fallback: bool = False) -> dict[str, str]:
    out: dict[str, str] = {}
    for text in values:
        key, eq, value = text.partition("=")
        if not key:
            raise InvalidArgument(f"invalid {what} {text!r}: expected KEY=VALUE")
        if not eq:
            if env_fallback:
                if key in os.environ:
                    out[key] = os.environ[key]
                continue
            value = ""
        out[key] = value
    return out


def _progress_mode(progress: str, quiet: bool) -> str:
    return progress_mode(progress, quiet, sys.stderr.isatty())


class _Tee:
    """Progress output, also kept (for the no-op record)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return self.out.isatty()


def run_build(store: LocalStore, params: Mapping[str, Any]) -> None:
    """Build with ``params``: the command's parameters, named and valued as click gives them."""
    context: str = params["context"]
    file: str | None = params["file"]
    tags: tuple[str, ...] = params["tags"]
    build_args: tuple[str, ...] = params["build_args"]
    secrets: tuple[str, ...] = params["secrets"]
    labels: tuple[str, ...] = params["labels"]
    outputs: tuple[str, ...] = params["outputs"]
    iidfile = Path(params["iidfile"]) if params["iidfile"] is not None else None
    if iidfile is not None and not iidfile.absolute().parent.is_dir():
        raise InvalidArgument(
            f"cannot write --iidfile {iidfile}: directory {iidfile.absolute().parent} does not"
            " exist",
            hint="create it first, or give a path in an existing directory",
        )
    # buildx takes --platform repeated, comma-separated, or both
    platform: str | None = ",".join(params["platforms"]) or None
    quiet: bool = params["quiet"]
    if context == "-" and file == "-":
        raise InvalidArgument("the context and the Dockerfile cannot both come from stdin")
    args = _pairs(build_args, "--build-arg", env_fallback=True)
    mode = _progress_mode(params["progress"], quiet)
    from dockyard import cli

    command_line = cli.argv if noop.replayable(params, sys.stderr.isatty()) else None
    before = noop.tree_digest(context) if command_line is not None else ""
    with tempfile.TemporaryDirectory(prefix="dockyard-context-") as tmp:
        patterns: list[str] | None = None
        if context == "-":
            ctx_dir = Path(tmp) / "context"
            read_tar_context(sys.stdin.buffer, ctx_dir)
            patterns = []
        else:
            ctx_dir = Path(context)
        dockerfile_text = None
        dockerfile_path: Path | None = None
        if file == "-":
            dockerfile_text = sys.stdin.read()
        elif file:
            dockerfile_path = Path(file)
            if context == "-" and not dockerfile_path.is_file():
                dockerfile_path = ctx_dir / file
        epoch = source_date_epoch(args) if "SOURCE_DATE_EPOCH" in args else source_date_epoch()
        options = BuildOptions(
            context=ctx_dir,
            dockerfile=dockerfile_path,
            dockerfile_text=dockerfile_text,
            tags=list(tags),
            build_args=args,
            target=params["target"],
            no_cache=params["no_cache"],
            pull=params["pull"],
            platform=_one_platform(platform),
            network="none" if params["network"] == "none" else "host",
            secrets=dict(parse_secret(s) for s in secrets),
            labels=_pairs(labels, "--label"),
            outputs=[parse_output(o) for o in outputs],
            push=params["push"],
            iidfile=iidfile,
            source_date_epoch=epoch,
            runtime=params["runtime"],
            ignore_patterns=patterns,
            debug_shell=params["debug_shell"],
            cache_from=_cache_specs(params["cache_from"], export=False),
            cache_to=_cache_specs(params["cache_to"], export=True),
        )
        stdout_archive = any(o.dest is not None and str(o.dest) == "-" for o in options.outputs)
        if platform is not None and "," in platform:  # the multi-platform code loads only here
            _build_platforms(store, options, platform, mode, quiet and not stdout_archive)
            return
        err = _Tee(sys.stderr)
        image = build(store, options, out=err, progress=mode)  # type: ignore[arg-type]
        printed = f"{image.id}\n" if quiet and not stdout_archive else ""
        sys.stdout.write(printed)
        sys.stdout.flush()
        if command_line is not None and image.all_cached:
            _record_noop(store, command_line, image, options, "".join(err.parts), printed, before)


def _one_platform(text: str | None) -> Platform | None:
    """``--platform P`` (checked as buildable); ``None`` for none or a list (built apart)."""
    if not text or "," in text:
        return None
    if Platform.parse(text).normalized() == Platform.current():
        return Platform.current()
    from dockyard.builder.platforms import parse_platforms

    return parse_platforms(text)[0]


def _build_platforms(
    store: LocalStore, options: BuildOptions, text: str, mode: str, print_id: bool
) -> None:
    """``--platform a,b``: one image index over a build of each platform."""
    from dockyard.builder.multi import build_platforms
    from dockyard.builder.platforms import parse_platforms

    platforms = parse_platforms(text)
    if len(platforms) == 1:
        options.platform = platforms[0]
        image = build(store, options, out=sys.stderr, progress=mode)  # type: ignore[arg-type]
        built_id = str(image.id)
    else:
        built_id = str(build_platforms(store, options, platforms, out=sys.stderr, progress=mode).id)  # type: ignore[arg-type]
    if print_id:
        sys.stdout.write(f"{built_id}\n")
        sys.stdout.flush()


def _cache_specs(values: tuple[str, ...], *, export: bool) -> list[CacheSpec]:
    """``--cache-from`` (or, with ``export``, ``--cache-to``) values; the cache-transfer code
    loads only when a build names a cache location."""
    if not values:
        return []
    from dockyard.builder.cache.spec import parse_cache_spec

    return [parse_cache_spec(v, export=export) for v in values]


def _record_noop(
    store: LocalStore,
    command_line: list[str],
    image: BuiltImage,
    options: BuildOptions,
    stderr: str,
    stdout: str,
    before: str,
) -> None:
    """Remember this no-op build, so that the same invocation is answered at start-up."""
    bases: list[tuple[str, str]] = []
    for name in image.base_names:
        ref = Reference.parse_with_default_tag(name)
        if ref.digest is None:
            bases.append((str(ref), str(store.resolve(ref).digest)))
    noop.record(
        str(store.root),
        noop.record_key(
            command_line, str(store.root), os.getcwd(), os.environ, sys.stderr.isatty()
        ),
        context=options.context,
        dockerfile=options.dockerfile or options.context / "Dockerfile",
        bases=bases,
        tags=[str(t) for t in image.tags],
        manifest=str(image.manifest.digest),
        image_id=str(image.id),
        stderr=stderr,
        stdout=stdout,
        iidfile=options.iidfile,
        before=before,
        cache_keys=image.cache_keys,
    )
