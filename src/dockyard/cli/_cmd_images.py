"""images, tag, rmi, history, inspect, image prune — docker's spelling, flags and output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli._format import emit_rows, human_size, render_template, since
from dockyard.cli._main import cli, open_store
from dockyard.errors import DockyardError, NotFound
from dockyard.imageservice import (
    ImageSummary,
    find_image,
    history,
    inspect_image,
    parse_filters,
    parse_time,
    prune_images,
    remove_image,
    summaries,
    tag_image,
)
from dockyard.imageservice.platform_child import for_platform
from dockyard.oci import Platform

if TYPE_CHECKING:
    from dockyard.local import LocalStore

_IMAGE_HEADERS = ["REPOSITORY", "TAG", "DIGEST", "IMAGE ID", "CREATED", "SIZE"]
_IMAGE_KEYS = ["Repository", "Tag", "Digest", "ID", "CreatedSince", "Size"]


@click.group("image")
def image_group() -> None:
    """Manage images in the local store."""


cli.add_command(image_group)


def _image_rows(images: list[ImageSummary], all_images: bool) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for image in images:
        created = image.created
        base = {
            "Containers": "N/A",
            "CreatedAt": created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC") if created else "",
            "CreatedSince": since(created, now),
            "ID": str(image.id),
            "SharedSize": "N/A",
            "Size": human_size(image.size),
            "UniqueSize": "N/A",
            "VirtualSize": human_size(image.size),
        }
        digest_by_repo = {d.familiar_name: str(d.digest) for d in image.digests}
        if not image.tags:
            if image.digests:
                for ref in image.digests:
                    rows.append(
                        {
                            **base,
                            "Repository": ref.familiar_name,
                            "Tag": "<none>",
                            "Digest": str(ref.digest),
                        }
                    )
            else:
                rows.append({**base, "Repository": "<none>", "Tag": "<none>", "Digest": "<none>"})
            continue
        for ref in image.tags:
            rows.append(
                {
                    **base,
                    "Repository": ref.familiar_name,
                    "Tag": ref.tag or "<none>",
                    "Digest": digest_by_repo.get(ref.familiar_name, "<none>"),
                }
            )
    return rows


@cli.command("images")
@click.argument("repository", required=False)
@click.option(
    "-a",
    "--all",
    "all_images",
    is_flag=True,
    help="Show all images (default hides intermediate images).",
)
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--digests", is_flag=True, help="Show digests.")
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option(
    "-f",
    "--filter",
    "filters",
    multiple=True,
    help="Filter output (dangling=, reference=, label=, before=, since=).",
)
@click.option(
    "--format", "fmt", help="table, json, or a Go template such as '{{.Repository}}:{{.Tag}}'."
)
@click.pass_context
def images_cmd(
    ctx: click.Context,
    repository: str | None,
    all_images: bool,
    quiet: bool,
    digests: bool,
    no_trunc: bool,
    filters: tuple[str, ...],
    fmt: str | None,
) -> None:
    """List images."""
    store = open_store(ctx)
    images = summaries(store)
    specs = list(filters)
    if repository:
        specs.append(f"reference={repository}")
    test = parse_filters(specs, images)
    chosen = [i for i in images if test(i)]
    if not all_images and test.dangling is None:
        # docker hides untagged images that are parents of others (intermediate layers)
        parents = {i.parent for i in images if i.parent is not None}
        chosen = [i for i in chosen if not (i.dangling and i.id in parents)]
    rows = _image_rows(chosen, all_images)
    if quiet:
        seen: list[str] = []
        for row in rows:
            short = row["ID"] if no_trunc else row["ID"].removeprefix("sha256:")[:12]
            if short not in seen:
                seen.append(short)
        click.echo("\n".join(seen)) if seen else None
        return
    if not no_trunc:
        for row in rows:
            row["ID"] = row["ID"].removeprefix("sha256:")[:12]
    headers = list(_IMAGE_HEADERS)
    keys = list(_IMAGE_KEYS)
    if not digests:
        headers.remove("DIGEST")
        keys.remove("Digest")
    emit_rows(fmt, headers, keys, rows)


image_group.add_command(images_cmd, "ls")
image_group.add_command(images_cmd, "list")


@cli.command("tag")
@click.argument("source")
@click.argument("target")
@click.pass_context
def tag_cmd(ctx: click.Context, source: str, target: str) -> None:
    """Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE."""
    tag_image(open_store(ctx), source, target)


image_group.add_command(tag_cmd, "tag")


@cli.command("rmi")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--force", is_flag=True, help="Force removal of the image.")
@click.option("--no-prune", is_flag=True, help="Accepted for docker compatibility.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def rmi_cmd(
    ctx: click.Context, images: tuple[str, ...], force: bool, no_prune: bool, fmt: str
) -> None:
    """Remove one or more images."""
    store = open_store(ctx)
    failed = False
    out: list[dict[str, str]] = []
    for text in images:
        try:
            result = remove_image(store, text, force=force)
        except DockyardError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
            continue
        if fmt == "json":
            out.extend(result.to_json())
        else:
            for line in result.lines():
                click.echo(line)
    store.gc()
    if fmt == "json":
        click.echo(json.dumps(out))
    if failed:
        ctx.exit(1)


image_group.add_command(rmi_cmd, "rm")


@image_group.command("prune")
@click.option(
    "-a",
    "--all",
    "all_images",
    is_flag=True,
    help="Remove all unused images, not just dangling ones.",
)
@click.option("-f", "--force", is_flag=True, help="Do not prompt for confirmation.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    help="Provide filter values (e.g. 'until=24h', 'label=k=v').",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def prune_cmd(
    ctx: click.Context, all_images: bool, force: bool, filters: tuple[str, ...], fmt: str
) -> None:
    """Remove unused images."""
    if not force:
        what = (
            "all images without at least one container associated to them"
            if all_images
            else "all dangling images"
        )
        click.echo(f"WARNING! This will remove {what}.")
        if not click.confirm("Are you sure you want to continue?", default=False):
            return
    result = prune_images(open_store(ctx), all_images=all_images, filters=filters)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"ImagesDeleted": result.deleted.to_json(), "SpaceReclaimed": result.reclaimed}
            )
        )
        return
    lines = result.deleted.lines()
    if lines:
        click.echo("Deleted Images:")
        for line in lines:
            kind, _, value = line.partition(": ")
            click.echo(f"{kind.lower()}: {value}")
        click.echo("")
    click.echo(f"Total reclaimed space: {human_size(result.reclaimed)}")


@cli.command("history")
@click.argument("image")
@click.option(
    "-H", "--human", type=bool, default=True, help="Print sizes and dates in human readable format."
)
@click.option("--no-trunc", is_flag=True, help="Don't truncate output.")
@click.option("-q", "--quiet", is_flag=True, help="Only show image IDs.")
@click.option("--format", "fmt", help="table, json, or a Go template.")
@click.option("--platform", help="Show this platform's image of a multi-platform image.")
@click.pass_context
def history_cmd(
    ctx: click.Context,
    image: str,
    human: bool,
    no_trunc: bool,
    quiet: bool,
    fmt: str | None,
    platform: str | None,
) -> None:
    """Show the history of an image."""
    store = open_store(ctx)
    summary = _pick_platform(store, find_image(image, summaries(store)), platform)
    rows = history(store, summary)
    if quiet:
        for row in rows:
            click.echo(
                row.image
                if no_trunc or row.image == "<missing>"
                else row.image.removeprefix("sha256:")[:12]
            )
        return
    now = datetime.now(UTC)
    objects = []
    for row in rows:
        created = parse_time(row.created)
        created_by = row.created_by.replace("\n", " ").replace("\t", " ")
        if not no_trunc and len(created_by) > 45:
            created_by = created_by[:44] + "…"
        image_id = (
            row.image
            if no_trunc or row.image == "<missing>"
            else row.image.removeprefix("sha256:")[:12]
        )
        objects.append(
            {
                "ID": image_id,
                "CreatedSince": since(created, now) if human else (row.created or ""),
                "CreatedAt": row.created or "",
                "CreatedBy": created_by,
                "Size": human_size(row.size) if human else str(row.size),
                "Comment": row.comment,
            }
        )
    emit_rows(
        fmt,
        ["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"],
        ["ID", "CreatedSince", "CreatedBy", "Size", "Comment"],
        objects,
    )


image_group.add_command(history_cmd, "history")


@cli.command("inspect")
@click.argument("images", nargs=-1, required=True)
@click.option("-f", "--format", "fmt", help="Format the output using a Go template.")
@click.option("--type", "kind", type=click.Choice(["image"]), default="image")
@click.option("--platform", help="Inspect this platform's image of a multi-platform image.")
@click.pass_context
def inspect_cmd(
    ctx: click.Context, images: tuple[str, ...], fmt: str | None, kind: str, platform: str | None
) -> None:
    """Return low-level information on images."""
    store = open_store(ctx)
    all_images = summaries(store)
    results: list[dict[str, Any]] = []
    missing: list[str] = []
    for text in images:
        try:
            found = find_image(text, all_images)
        except NotFound:
            missing.append(text)
            continue
        found = _pick_platform(store, found, platform)  # a platform it lacks: that error
        try:
            results.append(inspect_image(store, found))
        except NotFound:
            missing.append(text)
    if fmt and fmt != "json":
        for obj in results:
            click.echo(render_template(fmt, obj))
    else:
        click.echo(json.dumps(results, indent=4))
    if missing:
        for text in missing:
            click.echo(f"Error: No such image: {text}", err=True)
        ctx.exit(1)


image_group.add_command(inspect_cmd, "inspect")


def _pick_platform(store: LocalStore, summary: ImageSummary, platform: str | None) -> ImageSummary:
    """``--platform``: the child of a multi-platform image for that platform."""
    if not platform:
        return summary

    return for_platform(store, summary, Platform.parse(platform))
