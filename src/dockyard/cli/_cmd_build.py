"""``dockyard build``: docker build's flags, daemonless."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TextIO

import click

from dockyard.build import _noop
from dockyard.build._noop import progress_mode
from dockyard.build.context import read_tar_context
from dockyard.build.solver import (
    BuildOptions,
    BuiltImage,
    build,
    parse_cache_spec,
    parse_output,
    parse_secret,
    source_date_epoch,
)
from dockyard.cli._main import cli, open_store
from dockyard.errors import InvalidArgument
from dockyard.local import LocalStore
from dockyard.oci import Platform
from dockyard.reference import Reference


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


@cli.command("build")
@click.argument("context")
@click.option("-f", "--file", "file", help="Dockerfile (default: CONTEXT/Dockerfile; - = stdin).")
@click.option("-t", "--tag", "tags", multiple=True, help="Name the image (repeatable).")
@click.option("--build-arg", "build_args", multiple=True, help="Build-time variable KEY=VALUE.")
@click.option("--target", help="Build this stage (and what it needs) only.")
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always pull base images.")
@click.option("--platform", help="Target platform (os/arch[/variant]).")
@click.option(
    "--network",
    type=click.Choice(["host", "none", "default"]),
    default="host",
    help="Network of RUN steps (default host).",
)
@click.option(
    "--secret", "secrets", multiple=True, help="id=NAME,src=FILE for --mount=type=secret."
)
@click.option("--label", "labels", multiple=True, help="Image label KEY=VALUE (repeatable).")
@click.option(
    "--progress",
    type=click.Choice(["auto", "plain", "tty", "json", "quiet"]),
    default="auto",
    help="Progress output: auto (a live step view on a terminal, else plain), plain lines, "
    "tty (the live view), json events, quiet.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print only the image ID.")
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    help="type=store|oci|docker|local,dest=PATH (repeatable).",
)
@click.option("--push", is_flag=True, help="Push the named image(s) after the build.")
@click.option(
    "--cache-from",
    "cache_from",
    multiple=True,
    help="Use the cache at type=registry,ref=REF (or a bare REF) or type=local,src=DIR.",
)
@click.option(
    "--cache-to",
    "cache_to",
    multiple=True,
    help="Export the cache to type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR.",
)
@click.option("--iidfile", type=click.Path(dir_okay=False, path_type=Path), help="Write the ID.")
@click.option("--runtime", type=click.Choice(["crun", "runc"]), help="OCI runtime for RUN.")
@click.option(
    "--debug-shell", is_flag=True, help="Open /bin/sh in the filesystem of a failed RUN step."
)
@click.pass_context
def build_cmd(
    ctx: click.Context,
    context: str,
    file: str | None,
    tags: tuple[str, ...],
    build_args: tuple[str, ...],
    target: str | None,
    no_cache: bool,
    pull: bool,
    platform: str | None,
    network: str,
    secrets: tuple[str, ...],
    labels: tuple[str, ...],
    progress: str,
    quiet: bool,
    outputs: tuple[str, ...],
    push: bool,
    cache_from: tuple[str, ...],
    cache_to: tuple[str, ...],
    iidfile: Path | None,
    runtime: str | None,
    debug_shell: bool,
) -> None:
    """Build an image from a Dockerfile and a context (a directory, or - for a tar on stdin)."""
    if context == "-" and file == "-":
        raise InvalidArgument("the context and the Dockerfile cannot both come from stdin")
    args = _pairs(build_args, "--build-arg", env_fallback=True)
    store = open_store(ctx)
    mode = _progress_mode(progress, quiet)
    asked = _noop.canonical(
        file=file,
        tags=tags,
        build_args=build_args,
        target=target,
        platform=platform,
        network=network,
        labels=labels,
        progress=mode,
        iidfile=str(iidfile) if iidfile is not None else None,
        context=context,
    )
    noop_ok = (
        _noop.eligible(asked)
        and not (no_cache or pull or push or outputs or secrets or cache_from or cache_to)
        and not (runtime or debug_shell)
    )
    before = _noop.tree_digest(context) if noop_ok else ""
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
            target=target,
            no_cache=no_cache,
            pull=pull,
            platform=Platform.parse(platform).normalized() if platform else None,
            network="none" if network == "none" else "host",
            secrets=dict(parse_secret(s) for s in secrets),
            labels=_pairs(labels, "--label"),
            outputs=[parse_output(o) for o in outputs],
            push=push,
            iidfile=iidfile,
            source_date_epoch=epoch,
            runtime=runtime,
            ignore_patterns=patterns,
            debug_shell=debug_shell,
            cache_from=[parse_cache_spec(c, export=False) for c in cache_from],
            cache_to=[parse_cache_spec(c, export=True) for c in cache_to],
        )
        stdout_archive = any(o.dest is not None and str(o.dest) == "-" for o in options.outputs)
        err = _Tee(sys.stderr)
        image = build(store, options, out=err, progress=mode)  # type: ignore[arg-type]
        printed = f"{image.id}\n" if quiet and not stdout_archive else ""
        click.echo(printed, nl=False)
        if noop_ok and image.all_cached:
            _record_noop(store, asked, image, options, "".join(err.parts), printed, before)
        _ = shutil


def _record_noop(
    store: LocalStore,
    asked: dict[str, object],
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
    _noop.record(
        str(store.root),
        _noop.record_key(asked, str(store.root), os.getcwd(), os.environ),
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
    )
