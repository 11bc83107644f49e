"""generate-key-pair, import-key-pair, sign, verify, attest, verify-attestation, tree (cosign's words)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from dockyard.cli._main import cli
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.sign import (
    PrivateKey,
    PublicKey,
    Target,
    attest_image,
    generate_key_pair,
    import_key_pair,
    load_private_key,
    load_public_key,
    open_target,
    sign_image,
    tree,
    verify_attestations,
    verify_image,
    write_key_pair,
)

_PASSWORD_ENV = "COSIGN_PASSWORD"


def _has_terminal() -> bool:
    """Whether a prompt can be answered: the process has a controlling terminal (getpass
    reads /dev/tty, whatever stdin is)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _password(confirm: bool) -> bytes:
    """COSIGN_PASSWORD when set (even empty); else, as cosign does, a password piped on stdin
    (read whole, as is); else a prompt on the terminal (twice when creating a key); with no
    terminal to ask on, an error saying to set COSIGN_PASSWORD."""
    value = os.environ.get(_PASSWORD_ENV)
    if value is None:
        stdin = sys.stdin
        if stdin is not None and not stdin.closed and not stdin.isatty():
            piped = stdin.buffer.read()
            if piped:
                return piped
        if not _has_terminal():
            raise FailedPrecondition(
                f"no terminal to read a password from: set {_PASSWORD_ENV} (empty for no password)"
            )
        value = click.prompt(
            "Enter password for private key",
            hide_input=True,
            confirmation_prompt="Enter password for private key again" if confirm else False,
            default="",
            show_default=False,
            err=True,
        )
    return value.encode("utf-8")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"{what} {path} does not exist") from None
    except OSError as e:
        raise InvalidArgument(f"cannot read {what} {path}: {e.strerror}") from None


def _private_key(path: Path) -> PrivateKey:
    return load_private_key(_read(path, "private key"), _password(confirm=False))


def _public_keys(paths: tuple[Path, ...]) -> list[PublicKey]:
    return [load_public_key(_read(p, "public key")) for p in paths]


def _annotations(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"annotation {pair!r} must be KEY=VALUE")
        out[key] = value
    return out


def _write_pair(pair: Any, prefix: str) -> None:
    base = Path(prefix)
    key_path = base.with_name(base.name + ".key")
    overwrite = False
    if key_path.exists() or base.with_name(base.name + ".pub").exists():
        overwrite = click.confirm(f"File {key_path} already exists. Overwrite?", err=True)
        if not overwrite:
            raise InvalidArgument(f"{key_path} exists; not overwritten")
    key_file, pub_file = write_key_pair(pair, base, overwrite=overwrite)
    click.echo(f"Private key written to {key_file}", err=True)
    click.echo(f"Public key written to {pub_file}", err=True)


@cli.command("generate-key-pair")
@click.option(
    "--output-key-prefix", default="cosign", show_default=True, help="Write PREFIX.key/.pub."
)
def generate_key_pair_command(output_key_prefix: str) -> None:
    """Create an ECDSA P-256 key pair in cosign's encrypted format (password: $COSIGN_PASSWORD)."""
    _write_pair(generate_key_pair(_password(confirm=True)), output_key_prefix)


@cli.command("import-key-pair")
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path), help="PEM key.")
@click.option("--output-key-prefix", default="import-cosign", show_default=True)
def import_key_pair_command(key_file: Path, output_key_prefix: str) -> None:
    """Import a PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) as an encrypted cosign key."""
    pair = import_key_pair(_read(key_file, "key"), _password(confirm=True))
    _write_pair(pair, output_key_prefix)


def _target_digest(image: str, action: str) -> tuple[Target, Any]:
    target = open_target(image)
    digest = target.digest()
    if not target.by_digest:
        click.echo(
            f"WARNING: Image reference {image} uses a tag, not a digest, to identify the image "
            f"to {action}.\n    This can lead you to {action} a different image than the "
            f"intended one. Please use a digest (@{digest}) rather than a tag.",
            err=True,
        )
    return target, digest


_referrers_option = click.option(
    "--referrers",
    is_flag=True,
    help="Store as an OCI 1.1 referrer (subject = the image) instead of cosign's tag.",
)


@cli.command("sign")
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path))
@click.option("-a", "--annotations", "annotations", multiple=True, help="KEY=VALUE to sign too.")
@_referrers_option
@click.argument("image")
def sign_command(key_file: Path, annotations: tuple[str, ...], referrers: bool, image: str) -> None:
    """Sign IMAGE (registry reference or oci:DIR[:TAG]) with a cosign key."""
    key = _private_key(key_file)
    target, digest = _target_digest(image, "sign")
    signed = sign_image(
        target.repo, digest, key, annotations=_annotations(annotations), referrers=referrers
    )
    click.echo(f"Pushing signature to: {target.repo.name}@{signed.manifest}", err=True)


def _print_header(image: str, checks: list[str]) -> None:
    click.echo(f"\nVerification for {image} --", err=True)
    click.echo("The following checks were performed on each of these signatures:", err=True)
    for check in checks:
        click.echo(f"  - {check}", err=True)


@cli.command("verify")
@click.option("--key", "key_files", required=True, multiple=True, type=click.Path(path_type=Path))
@click.option(
    "-a", "--annotations", "annotations", multiple=True, help="KEY=VALUE that must be signed."
)
@click.argument("image")
def verify_command(key_files: tuple[Path, ...], annotations: tuple[str, ...], image: str) -> None:
    """Verify IMAGE's signatures offline; print the verified payloads as JSON."""
    keys = _public_keys(key_files)
    target = open_target(image)
    verified = verify_image(target.repo, target.digest(), keys, _annotations(annotations))
    _print_header(
        image,
        [
            "The cosign claims were validated",
            "The signatures were verified against the specified public key",
        ],
    )
    click.echo(json.dumps([v.claims.data for v in verified], separators=(",", ":")))


@cli.command("attest")
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path))
@click.option("--predicate", required=True, type=click.Path(path_type=Path))
@click.option("--type", "predicate_type", default="custom", show_default=True)
@_referrers_option
@click.argument("image")
def attest_command(
    key_file: Path, predicate: Path, predicate_type: str, referrers: bool, image: str
) -> None:
    """Attach a signed in-toto attestation (DSSE) to IMAGE."""
    key = _private_key(key_file)
    target, digest = _target_digest(image, "attest")
    signed = attest_image(
        target.repo, digest, key, _read(predicate, "predicate"), predicate_type, referrers=referrers
    )
    click.echo(f"Pushing attestation to: {target.repo.name}@{signed.manifest}", err=True)


@cli.command("verify-attestation")
@click.option("--key", "key_files", required=True, multiple=True, type=click.Path(path_type=Path))
@click.option("--type", "predicate_type", default=None, help="Only this predicate type.")
@click.argument("image")
def verify_attestation_command(
    key_files: tuple[Path, ...], predicate_type: str | None, image: str
) -> None:
    """Verify IMAGE's attestations offline; print each verified DSSE envelope."""
    keys = _public_keys(key_files)
    target = open_target(image)
    verified = verify_attestations(target.repo, target.digest(), keys, predicate_type)
    _print_header(
        image,
        [
            "The cosign claims were validated",
            "The signatures were verified against the specified public key",
        ],
    )
    for attestation in verified:
        click.echo(attestation.envelope.raw.decode("utf-8"))


@cli.command("tree")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.argument("image")
def tree_command(fmt: str, image: str) -> None:
    """List the signatures, attestations, SBOMs and referrers attached to IMAGE."""
    target = open_target(image)
    result = tree(target.repo, target.digest())
    if fmt == "json":
        obj = {
            "image": str(result.image),
            "attached": [
                {"kind": a.kind, "tag": a.tag, "layers": [d.to_json() for d in a.layers]}
                for a in result.attached
            ],
            "referrers": [d.to_json() for d in result.referrers],
        }
        click.echo(json.dumps(obj, separators=(",", ":")))
        return
    click.echo(f"📦 Supply Chain Security Related artifacts for an image: {image}")
    if not result.attached and not result.referrers:
        click.echo(f"No Supply Chain Security Related Artifacts found for image {image}")
        return
    for attached in result.attached:
        click.echo(
            f"└── 🔐 {attached.kind.capitalize() if attached.kind != 'SBOMs' else 'SBOMs'} "
            f"for an image tag: {target.repo.name}:{attached.tag}"
        )
        for layer in attached.layers:
            click.echo(f"   └── 🍒 {layer.digest}")
    if result.referrers:
        click.echo("└── 🔗 Referrers:")
        for d in result.referrers:
            click.echo(f"   └── {d.artifact_type or d.media_type} {d.digest}")
