"""Registry commands: login, logout, pull, push, copy, manifest inspect, tags, digest, delete."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockyard.cli._main import cli, exit_without_teardown, open_store
from dockyard.cli._progress import make_progress
from dockyard.client import (
    ClientOptions,
    Credentials,
    RegistryClient,
    login,
    logout,
    registry_host,
)
from dockyard.errors import BlobUnknown, InvalidArgument
from dockyard.image import COMPRESSION_NAMES, CompressionPolicy, ImageDestination, ImageSource
from dockyard.image.copy import CopyResult, copy
from dockyard.image.open import open_destination, open_source
from dockyard.image.transports import Location, parse_location
from dockyard.oci import Index, Platform, parse_manifest_or_index
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.local import LocalStore
    from dockyard.progress import Progress

F = TypeVar("F", bound=Callable[..., Any])


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise click.BadParameter(f"{text!r} is not true or false")


def client_options(func: F) -> F:
    """--tls-verify, --insecure, --ca-cert, --registries-config, --jobs on a command."""

    @click.option(
        "--tls-verify",
        "tls_verify",
        default=None,
        metavar="BOOL",
        help="Require HTTPS and verify certificates (default: yes, except localhost-style and "
        "insecure registries).",
    )
    @click.option(
        "--insecure", is_flag=True, help="Same as --tls-verify=false (allows plain HTTP)."
    )
    @click.option(
        "--ca-cert",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Trust this CA certificate (PEM) for the registry.",
    )
    @click.option(
        "--registries-config",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Mirrors and insecure registries (JSON, like daemon.json).",
    )
    @click.option("--jobs", type=click.IntRange(1, 64), default=6, help="Parallel transfers.")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        tls_verify = kwargs.pop("tls_verify")
        insecure = kwargs.pop("insecure")
        ca_cert = kwargs.pop("ca_cert")
        config = kwargs.pop("registries_config")
        jobs = kwargs.pop("jobs")
        verify = None if tls_verify is None else _bool(tls_verify)
        if insecure:
            verify = False
        options = ClientOptions.from_config(config, tls_verify=verify, ca_cert=ca_cert, jobs=jobs)
        kwargs["client"] = RegistryClient(options)
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _remote_ref(text: str) -> Reference:
    return Reference.parse_with_default_tag(text.removeprefix("docker://"))


# --- login / logout --------------------------------------------------------------------------


@cli.command("login")
@click.argument("registry")
@click.option("-u", "--username", help="Username.")
@click.option("-p", "--password", help="Password (prefer --password-stdin).")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
@client_options
def login_cmd(
    registry: str,
    username: str | None,
    password: str | None,
    password_stdin: bool,
    client: RegistryClient,
) -> None:
    """Log in to a registry; credentials go to docker's config.json (or its credential helper)."""
    if password and password_stdin:
        raise InvalidArgument("--password and --password-stdin are mutually exclusive")
    if password_stdin:
        if not username:
            raise InvalidArgument("must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if not password:
        password = click.prompt("Password", hide_input=True)
    elif not password_stdin:
        click.echo(
            "WARNING! Using --password via the CLI is insecure. Use --password-stdin.", err=True
        )
    assert username is not None and password is not None
    where = login(client, registry, Credentials(username, password))
    click.echo(f"Credentials stored in {where}", err=True)
    click.echo("Login Succeeded")


@cli.command("logout")
@click.argument("registry")
def logout_cmd(registry: str) -> None:
    """Forget the credentials of a registry."""
    host = registry_host(registry)
    if logout(RegistryClient(ClientOptions()), registry):
        click.echo(f"Removing login credentials for {host}")
    else:
        click.echo(f"Not logged in to {host}")


# --- pull / push / copy ----------------------------------------------------------------------


def compression_options(default_help: str) -> Callable[[F], F]:
    """--compression and --force-compression (buildx's compression= and force-compression=)."""

    def decorate(func: F) -> F:
        func = click.option(
            "--force-compression",
            is_flag=True,
            help="Convert layers that are already compressed too (e.g. gzip to zstd).",
        )(func)
        return click.option(
            "--compression",
            type=click.Choice(COMPRESSION_NAMES),
            default=None,
            help=f"Compress plain tar layers on the way ({default_help}); compressed layers "
            "keep their bytes unless --force-compression.",
        )(func)

    return decorate


def _platform(text: str | None) -> Platform | None:
    return Platform.parse(text) if text else None


class _WithoutDigestLine:
    """Passes progress on, except copy's closing ``Digest: …`` message."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def start(self, key: str, description: str, total: int | None = None) -> None:
        self.progress.start(key, description, total)

    def advance(self, key: str, amount: int) -> None:
        self.progress.advance(key, amount)

    def finish(self, key: str, status: str = "done") -> None:
        self.progress.finish(key, status)

    def message(self, text: str) -> None:
        if not text.startswith("Digest: "):
            self.progress.message(text)


def _run_copy(
    src: ImageSource,
    dst: ImageDestination,
    *,
    all_platforms: bool,
    platform: Platform | None,
    jobs: int,
    quiet: bool,
    compression: CompressionPolicy | None = None,
    digest_line: bool = True,
) -> CopyResult:
    """Copy with progress; ``digest_line=False`` leaves the closing ``Digest: …`` line to the
    command (pull prints it on stdout, once, as docker pull does)."""
    try:
        with make_progress(quiet) as progress:
            result = copy(
                src,
                dst,
                all_platforms=all_platforms,
                platform=platform,
                jobs=jobs,
                progress=progress if digest_line else _WithoutDigestLine(progress),
                compression=compression,
            )
    finally:
        dst.close()
        src.close()
    exit_without_teardown()  # everything is written and synced; only output is left
    return result


@cli.command("pull")
@click.argument("ref")
@click.option("--platform", help="Platform to pull from a multi-platform image (os/arch[/v]).")
@click.option("-a", "--all-platforms", is_flag=True, help="Pull every platform of an index.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the image reference.")
@client_options
@click.pass_context
def pull_cmd(
    ctx: click.Context,
    ref: str,
    platform: str | None,
    all_platforms: bool,
    quiet: bool,
    client: RegistryClient,
) -> None:
    """Pull an image (or one platform of it) from a registry into the local store."""
    from dockyard.image.store import StoreDestination

    reference = _remote_ref(ref)
    store = open_store(ctx)
    names = [reference] if reference.tag is not None else []
    if not quiet:
        click.echo(f"{reference.tag or reference.digest}: Pulling from {reference.familiar_name}")
    result = _run_copy(
        client.source(reference),
        StoreDestination(store, names, digest_names=[reference]),
        all_platforms=all_platforms,
        platform=_platform(platform),
        jobs=client.options.jobs,
        quiet=quiet,
        digest_line=False,
    )
    if not quiet:
        click.echo(f"Digest: {result.digest}")
        status = "Downloaded newer image" if result.copied else "Image is up to date"
        click.echo(f"Status: {status} for {reference.familiar}")
    click.echo(str(reference))


@cli.command("push")
@click.argument("ref")
@click.option("--platform", help="Push one platform of a multi-platform image.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the digest.")
@compression_options("default: gzip, like docker push")
@client_options
@click.pass_context
def push_cmd(
    ctx: click.Context,
    ref: str,
    platform: str | None,
    quiet: bool,
    compression: str | None,
    force_compression: bool,
    client: RegistryClient,
) -> None:
    """Push an image from the local store to its registry.

    Plain tar layers (from import or load) are gzipped on the way, as docker push does; the
    store keeps the compressed layer, so the next push does not compress it again."""
    from dockyard.image.store import StoreImageSource

    reference = _remote_ref(ref)
    policy = CompressionPolicy.named(compression or "gzip", force=force_compression)
    store = open_store(ctx)
    if not quiet:
        click.echo(f"The push refers to repository [{reference.name}]")

    chosen = _platform(platform)

    def attempt(all_platforms: bool, wanted: Platform | None = chosen) -> CopyResult:
        return _run_copy(
            StoreImageSource(store, reference),
            client.destination(reference),
            all_platforms=all_platforms,
            platform=wanted,
            jobs=client.options.jobs,
            quiet=quiet,
            compression=policy,
        )

    if platform:
        result = attempt(False)
    else:
        try:
            result = attempt(True)
        except BlobUnknown:
            # an index pulled for one platform: push what we have, like docker
            result = attempt(False, _stored_platform(store, reference))
    click.echo(
        str(result.digest)
        if quiet
        else f"{reference.tag or 'latest'}: digest: {result.digest} size: {result.descriptor.size}"
    )


def _stored_platform(store: LocalStore, reference: Reference) -> Platform | None:
    """The platform of the one image of an index that the store holds (else None)."""
    descriptor = store.resolve(reference)
    parsed = parse_manifest_or_index(store.content.read_bytes(descriptor.digest))
    if not isinstance(parsed, Index):
        return None
    present = [
        child.platform
        for child in parsed.manifests
        if child.platform is not None and store.content.exists(child.digest)
    ]
    return present[0] if len(present) == 1 else None


@cli.command("copy")
@click.argument("source")
@click.argument("destination")
@click.option("--all", "all_platforms", is_flag=True, help="Copy every platform of an index.")
@click.option("--platform", help="Platform to copy from a multi-platform image.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@compression_options("default: none, so every digest is kept")
@client_options
@click.pass_context
def copy_cmd(
    ctx: click.Context,
    source: str,
    destination: str,
    all_platforms: bool,
    platform: str | None,
    quiet: bool,
    fmt: str,
    compression: str | None,
    force_compression: bool,
    client: RegistryClient,
) -> None:
    """Copy an image between registries (docker://), OCI layouts (oci:), archives
    (oci-archive:, docker-archive:) and the local store (a plain name).

    Blobs are copied byte for byte, so digests (and signatures over them) survive; with
    --compression gzip or zstd plain tar layers are compressed on the way, as push does."""
    src_loc = parse_location(source)
    dst_loc = parse_location(destination)
    if force_compression and compression is None:
        raise InvalidArgument(
            "--force-compression needs --compression: say which compression (none, gzip or "
            "zstd) every layer should have"
        )
    policy = CompressionPolicy.named(compression or "none", force=force_compression)

    def store() -> LocalStore:
        return open_store(ctx)

    src = open_source(src_loc, registry=client, store=store)
    try:
        dst = open_destination(_default_name(dst_loc, src_loc), registry=client, store=store)
    except BaseException:
        src.close()
        raise
    result = _run_copy(
        src,
        dst,
        all_platforms=all_platforms,
        platform=_platform(platform),
        jobs=client.options.jobs,
        quiet=quiet or fmt == "json",
        compression=policy,
    )
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "Digest": str(result.digest),
                    "MediaType": result.descriptor.media_type,
                    "Size": result.descriptor.size,
                    "Copied": [str(d) for d in result.copied],
                    "Skipped": [str(d) for d in result.skipped],
                    "Mounted": [str(d) for d in result.mounted],
                }
            )
        )
    else:
        click.echo(str(result.digest))


def _default_name(dst: Location, src: Location) -> Location:
    return dst


# --- manifest inspect / tags / digest / delete -----------------------------------------------


@cli.group("manifest")
def manifest_group() -> None:
    """Look at manifests in a registry; make, annotate and push manifest lists."""


@manifest_group.command("inspect")
@click.argument("ref")
@click.option("-v", "--verbose", is_flag=True, help="Also show each platform's manifest.")
@client_options
def manifest_inspect_cmd(ref: str, verbose: bool, client: RegistryClient) -> None:
    """Print the manifest or index a reference names (raw JSON, as the registry holds it)."""
    reference = _remote_ref(ref)
    source = client.source(reference)
    descriptor, raw = source.root()
    if not verbose:
        click.echo(raw.decode())
        return
    parsed = parse_manifest_or_index(raw, descriptor.media_type)
    entries: list[dict[str, Any]] = []
    children = parsed.manifests if isinstance(parsed, Index) else []
    for child in children:
        child_raw = source.blobs.read_blob(child)
        entries.append(
            {
                "Ref": str(reference.without_tag_or_digest().with_digest(child.digest)),
                "Descriptor": child.to_json(),
                "SchemaV2Manifest": json.loads(child_raw),
            }
        )
    out: dict[str, Any] = {
        "Ref": str(reference),
        "Descriptor": descriptor.to_json(),
        "Raw": json.loads(raw),
    }
    if entries:
        out["Manifests"] = entries
    click.echo(json.dumps(out, indent=4))


@cli.command("tags")
@click.argument("ref")
@click.option("--page-size", type=int, help="Ask the registry for this many tags per page.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@client_options
def tags_cmd(ref: str, page_size: int | None, fmt: str, client: RegistryClient) -> None:
    """List the tags of a repository."""
    reference = Reference.parse(ref.removeprefix("docker://"))
    tags = list(client.repository(reference).tags(page_size))
    if fmt == "json":
        click.echo(json.dumps({"Repository": reference.name, "Tags": tags}))
    else:
        for tag in tags:
            click.echo(tag)


@cli.command("digest")
@click.argument("ref")
@client_options
def digest_cmd(ref: str, client: RegistryClient) -> None:
    """Print the digest of the manifest or index a reference names."""
    descriptor, _ = client.source(_remote_ref(ref)).root()
    click.echo(str(descriptor.digest))


@cli.command("delete")
@click.argument("ref")
@client_options
def delete_cmd(ref: str, client: RegistryClient) -> None:
    """Delete a manifest from a registry (by tag: the manifest the tag points at)."""
    reference = _remote_ref(ref)
    repo = client.repository(reference)
    if reference.digest is not None:
        digest = reference.digest
    else:
        found = repo.head_manifest(reference.tag or "latest")
        if found is None:
            raise BlobUnknown(f"manifest unknown: {reference.familiar} does not exist")
        digest = found.digest
    repo.delete_manifest(str(digest))
    click.echo(f"Deleted: {reference.without_tag_or_digest().with_digest(digest)}")
