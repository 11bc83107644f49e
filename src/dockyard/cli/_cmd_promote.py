"""``dockyard promote SRC_REF TAG``: move an environment tag to SRC_REF's digest on the registry,
which checks every gate (its projects' promotion policies, and these options) at the moment of
the move (``POST …/artifacts/{reference}/promote``, a dockyard extension of Harbor's API)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, api_options, usage
from dockyard.client import ClientOptions
from dockyard.client.harbor import HarborClient, connect
from dockyard.client.harbor.promote import promote, requirements
from dockyard.errors import DockyardError
from dockyard.reference import Reference
from dockyard.sign import load_public_key

_SEVERITY_KEY = "max-severity"


def _split(src_ref: str) -> tuple[str | None, str, str, str]:
    """(registry named in SRC_REF or None, project, repository below it, tag or digest)."""
    try:
        ref = Reference.parse(src_ref)
    except DockyardError as exc:
        raise usage(f"SRC_REF {src_ref!r}: {exc.message}") from None
    registry = ref.domain if src_ref.startswith(ref.domain + "/") else None
    written = src_ref.removeprefix(f"{registry}/") if registry else src_ref
    project, _, repository = ref.path.partition("/")
    if "/" not in written.split("@")[0] or not repository:
        raise usage(f"SRC_REF {src_ref!r} names no repository inside a project (PROJECT/REPO)")
    reference = str(ref.digest) if ref.digest is not None else ref.tag
    if reference is None:
        raise usage(f"SRC_REF {src_ref!r} names no tag or digest (e.g. team/app:rc1)")
    return registry, project, repository, reference


def _key(path: Path) -> str:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise usage(f"--require-signature {path}: {exc.strerror}") from None
    try:
        load_public_key(pem)
    except DockyardError as exc:
        raise usage(f"--require-signature {path}: {exc.message}") from None
    return pem.decode()


def _severity(spec: str | None) -> str | None:
    if spec is None:
        return None
    key, sep, value = spec.partition("=")
    if not sep or key.strip() != _SEVERITY_KEY or not value.strip():
        raise usage(f"--require-scan {spec!r}: write {_SEVERITY_KEY}=SEVERITY (e.g. high)")
    return value.strip().lower()


def _render(result: dict[str, Any]) -> None:
    previous = result.get("previous")
    if result.get("moved"):
        was = f" (was {previous})" if previous else " (new tag)"
        click.echo(f"Promoted {result['repository']}:{result['tag']} to {result['digest']}{was}")
    else:
        click.echo(f"{result['repository']}:{result['tag']} already points at {result['digest']}")
    for gate in result.get("gates") or []:
        mark = "passed" if gate.get("passed") else "FAILED"
        click.echo(f"  {gate.get('gate')} ({gate.get('source')}): {mark}: {gate.get('message')}")


@cli.command("promote")
@click.argument("src_ref")
@click.argument("tag")
@click.option(
    "--require-signature",
    "signature_keys",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="KEY",
    help="Also require a cosign signature by this public key (repeatable: any of them).",
)
@click.option(
    "--require-scan",
    "scan",
    metavar="max-severity=SEVERITY",
    help="Also require a scan report as new as the vulnerability database with nothing "
    "above SEVERITY (e.g. max-severity=high).",
)
@click.option(
    "--require-attestation",
    "attestations",
    multiple=True,
    metavar="PREDICATE_TYPE",
    help="Also require a signed in-toto attestation of this type (a URI or cosign's "
    "shorthand) for the digest; verified with the --require-signature keys when given, else "
    "the keys the registry trusts (repeatable).",
)
@api_options
def promote_command(
    src_ref: str,
    tag: str,
    signature_keys: tuple[Path, ...],
    scan: str | None,
    attestations: tuple[str, ...],
    harbor: Connector,
    fmt: str,
) -> None:
    """Move TAG (e.g. prod) to the digest SRC_REF names, if every gate holds.

    The registry checks its project's promotion policies for TAG and the gates asked for
    here, then moves the tag in one step; a failing gate is named and nothing moves.
    SRC_REF is [REGISTRY/]PROJECT/REPO:TAG or …@DIGEST (REGISTRY, when given, is where the
    promotion happens unless --registry says otherwise)."""
    registry, project, repository, reference = _split(src_ref)
    keys = [_key(p) for p in signature_keys]
    require = requirements(
        signature_keys=keys,
        max_severity=_severity(scan),
        attestations=attestations,
        attestation_keys=keys,
    )
    client = harbor() if registry is None else _connect_or(harbor, registry)
    result = promote(client, project, repository, reference, tag, require)
    if fmt == "json":
        click.echo(json.dumps(result, separators=(",", ":")))
    else:
        _render(result)


def _connect_or(harbor: Connector, registry: str) -> HarborClient:
    """The registry ``--registry`` (or $DOCKYARD_REGISTRY) names, else SRC_REF's."""
    params = click.get_current_context().params
    if params.get("registry"):
        return harbor()
    options = ClientOptions(tls_verify=params.get("tls_verify"), ca_cert=params.get("ca_cert"))
    return HarborClient(connect(registry, options))
