"""load, save, import: moving images in and out of the store as tar files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import click

from dockyard.atomicfile import atomic_output
from dockyard.cli._cmd_images import image_group
from dockyard.cli._main import cli, open_store
from dockyard.cli._progress import make_progress
from dockyard.errors import InvalidArgument
from dockyard.image.archive import ArchiveImage, save_archive
from dockyard.image.load import load_archive
from dockyard.image.store import StoreSource
from dockyard.imageservice import find_image, import_image, summaries
from dockyard.oci import Platform
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.image.load import LoadedImage
    from dockyard.local import LocalStore


@cli.command("load")
@click.option("-i", "--input", "input_path", help="Read from tar archive file, instead of STDIN.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress the load output.")
@click.pass_context
def load_cmd(ctx: click.Context, input_path: str | None, quiet: bool) -> None:
    """Load images from a tar archive (docker save or OCI archive) or STDIN."""
    store = open_store(ctx)
    if input_path is None or input_path == "-":
        if sys.stdin.isatty():
            raise InvalidArgument(
                "requested load from stdin, but stdin is empty", hint="use -i FILE or pipe a tar in"
            )
        stream: BinaryIO = sys.stdin.buffer
        loaded = _load(store, stream, quiet, "<stdin>")
    else:
        try:
            with open(input_path, "rb", buffering=0) as f:
                loaded = _load(store, f, quiet, input_path)
        except FileNotFoundError as exc:
            raise InvalidArgument(f"open {input_path}: no such file or directory") from exc
    for image in loaded:
        if image.names:
            for name in image.names:
                click.echo(f"Loaded image: {name.familiar}")
        else:
            click.echo(f"Loaded image ID: {image.image_id}")


def _load(store: LocalStore, stream: BinaryIO, quiet: bool, label: str) -> list[LoadedImage]:
    """``copy`` every image of the archive into the store (read in place from a plain tar
    file; from an uncompressed copy in the store's ``ingest/`` otherwise)."""
    with make_progress(quiet) as progress:
        return load_archive(store, stream, progress=progress, label=label)


@cli.command("save")
@click.argument("images", nargs=-1, required=True)
@click.option("-o", "--output", help="Write to a file, instead of STDOUT.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["docker", "oci"]),
    default="docker",
    help="docker-archive (default; docker load reads it) or oci-archive.",
)
@click.option(
    "--platform", help="Which platform to save from a multi-platform image (docker format)."
)
@click.pass_context
def save_cmd(
    ctx: click.Context, images: tuple[str, ...], output: str | None, fmt: str, platform: str | None
) -> None:
    """Save one or more images to a tar archive (streamed to STDOUT by default)."""
    store = open_store(ctx)
    all_images = summaries(store)
    items: list[ArchiveImage] = []
    source = StoreSource(store)
    for text in images:
        image = find_image(text, all_images)
        names: list[Reference] = []
        try:
            ref = Reference.parse_with_default_tag(text)
            if any(str(t) == str(ref) for t in image.tags):
                names = [ref]
        except InvalidArgument:
            pass
        if not names and text.removeprefix("sha256:") not in str(image.id):
            names = list(image.tags)
        items.append(ArchiveImage(source, image.descriptor, names))
    wanted = Platform.parse(platform) if platform else None
    if output is None or output == "-":
        if sys.stdout.isatty():
            raise InvalidArgument(
                "cowardly refusing to save to a terminal", hint="use the -o flag or redirect"
            )
        with make_progress(quiet=True) as progress:
            save_archive(items, sys.stdout.buffer, format=fmt, platform=wanted, progress=progress)  # type: ignore[arg-type]
        return
    with atomic_output(Path(output)) as f, make_progress() as progress:
        save_archive(items, f, format=fmt, platform=wanted, progress=progress)  # type: ignore[arg-type]


@cli.command("import")
@click.argument("source")
@click.argument("repository", required=False)
@click.option(
    "-c", "--change", "changes", multiple=True, help="Apply a Dockerfile instruction to the image."
)
@click.option("-m", "--message", help="Set commit message for imported image.")
@click.option(
    "--platform", help="Set platform if the image is not for this host (os/arch[/variant])."
)
@click.pass_context
def import_cmd(
    ctx: click.Context,
    source: str,
    repository: str | None,
    changes: tuple[str, ...],
    message: str | None,
    platform: str | None,
) -> None:
    """Import a root filesystem (a tarball, a directory, or - for STDIN) as an image."""
    store = open_store(ctx)
    with make_progress() as progress:
        image_id = import_image(
            store,
            source,
            repository,
            changes=list(changes),
            message=message,
            platform=Platform.parse(platform) if platform else None,
            progress=progress,
        )
    click.echo(str(image_id))


for _cmd, _name in ((load_cmd, "load"), (save_cmd, "save"), (import_cmd, "import")):
    image_group.add_command(_cmd, _name)
