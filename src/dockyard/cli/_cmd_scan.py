"""sbom, scan and db: software bills of materials and offline vulnerability reports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard.atomicfile import write_atomic
from dockyard.cli._format import human_duration
from dockyard.cli._main import cli, open_store
from dockyard.cli._progress import make_progress
from dockyard.errors import FailedPrecondition
from dockyard.oci import Platform
from dockyard.scan import (
    SBOM_FORMATS,
    Report,
    VulnDB,
    catalog_source,
    match_inventory,
    open_source,
    parse_severities,
    read_advisories,
    read_ignorefile,
    render_sbom,
    update_db,
)
from dockyard.scan import feeds as _feeds

if TYPE_CHECKING:  # loaded by the commands that use them, so `sbom` starts fast
    from dockyard.local import LocalStore
    from dockyard.scan import Inventory

#: as in dockyard.scan._report (checked by the scan tests), without importing it for `sbom`
SEVERITIES = ("UNKNOWN", "NEGLIGIBLE", "LOW", "MEDIUM", "HIGH", "CRITICAL")
REPORT_FORMATS = ("table", "json", "sarif", "cyclonedx")

_STALE_SECONDS = 7 * 24 * 3600


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text.encode())


def _inventory(ctx: click.Context, target: str, platform: str | None) -> Inventory:

    def store() -> LocalStore:
        return open_store(ctx)

    with open_source(target, store, Platform.parse(platform) if platform else None) as source:
        return catalog_source(source)


@cli.command("sbom")
@click.argument("target", metavar="IMAGE|DIR|ARCHIVE")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(SBOM_FORMATS),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE instead of standard output.",
)
@click.option(
    "--platform", help="Platform to pick from a multi-platform image (os/arch[/variant])."
)
@click.pass_context
def sbom_cmd(
    ctx: click.Context, target: str, fmt: str, output: Path | None, platform: str | None
) -> None:
    """List the packages in an image, a directory, or an image archive (a software bill of
    materials). TARGET may be prefixed dir:, docker-archive: or oci-archive:."""
    inventory = _inventory(ctx, target, platform)
    _write(render_sbom(inventory, fmt), output)


def _vulndb(ctx: click.Context) -> VulnDB:
    return VulnDB.in_store(open_store(ctx).root)


@click.group("db")
def db_group() -> None:
    """Manage the offline vulnerability database."""


cli.add_command(db_group)


@db_group.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def db_import_cmd(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Import advisories: OSV JSON files, directories or zips; Debian security tracker JSON;
    Alpine secdb YAML."""
    db = _vulndb(ctx)
    try:
        for path in paths:
            kind, advisories = read_advisories(path)
            count = db.add(advisories, str(path.resolve().name), kind)
            click.echo(f"{path}: {count} {kind} advisories imported")
    finally:
        db.close()


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@db_group.command("update")
@click.option(
    "--source",
    "sources",
    multiple=True,
    help="Feeds to fetch, comma-separated or repeated: osv, debian, alpine (default: all).",
)
@click.option(
    "--ecosystem",
    "ecosystems",
    multiple=True,
    help="OSV ecosystems to fetch (default: PyPI,Go,crates.io,npm,Maven,RubyGems).",
)
@click.option(
    "--alpine",
    "alpine_versions",
    multiple=True,
    help="Alpine secdb releases to fetch (default: 3.19,3.20,3.21,3.22).",
)
@click.option(
    "--mirror",
    "mirrors",
    multiple=True,
    metavar="[SOURCE=]URL",
    help="Fetch from a copy laid out in the feeds' own paths (URL/PyPI/all.zip, "
    "URL/tracker/data/json, URL/v3.20/main.json) instead of the public sites.",
)
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds per read.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.pass_context
def db_update_cmd(
    ctx: click.Context,
    sources: tuple[str, ...],
    ecosystems: tuple[str, ...],
    alpine_versions: tuple[str, ...],
    mirrors: tuple[str, ...],
    timeout: float,
    fmt: str,
    quiet: bool,
) -> None:
    """Download the public advisory feeds (OSV exports, the Debian security tracker, Alpine
    secdb) and import them. Interrupted downloads resume on the next run; nothing is imported
    unless every feed downloaded and verified."""
    from dataclasses import asdict

    feeds = _feeds.plan_feeds(
        _split(sources) or _feeds.SOURCES,
        _split(ecosystems) or _feeds.ECOSYSTEMS,
        _split(alpine_versions) or _feeds.ALPINE_VERSIONS,
        _feeds.parse_mirrors(mirrors),
    )
    db = _vulndb(ctx)
    try:
        with make_progress(quiet=quiet) as progress:
            results = update_db(db, feeds, progress, timeout=timeout)
    finally:
        db.close()
    if fmt == "json":
        total = sum(r.advisories for r in results)
        doc = {"advisories": total, "feeds": [asdict(r) for r in results]}
        click.echo(json.dumps(doc, indent=2))
        return
    for r in results:
        click.echo(f"{r.name}: {r.advisories} {r.kind} advisories imported ({r.status})")


@db_group.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def db_status_cmd(ctx: click.Context, fmt: str) -> None:
    """Show the database's sources, counts and age."""
    db = _vulndb(ctx)
    try:
        status = db.status()
    finally:
        db.close()
    now = time.time()
    stale = [s["name"] for s in status["sources"] if now - s["importedAt"] > _STALE_SECONDS]
    status["stale"] = stale
    if fmt == "json":
        click.echo(json.dumps(status, indent=2))
    else:
        click.echo(f"Advisories: {status['advisories']}")
        for s in status["sources"]:
            age = human_duration(now - s["importedAt"])
            click.echo(
                f"  {s['name']}  {s['kind']}  {s['advisories']} advisories  imported "
                f"{age} ago" + (f"  newest {s['newest']}" if s["newest"] else "")
            )
        for eco, count in status["ecosystems"].items():
            click.echo(f"  {eco}: {count} affected packages")
    if not status["sources"]:
        click.echo(
            "Warning: no vulnerability data: run `dockyard db update` "
            "(or `dockyard db import DIR`)",
            err=True,
        )
    for name in stale:
        click.echo(
            f"Warning: {name} was imported more than 7 days ago; run `dockyard db update`",
            err=True,
        )


@cli.command("scan")
@click.argument("target", metavar="IMAGE|DIR|ARCHIVE")
@click.option(
    "--severity",
    default=",".join(SEVERITIES),
    show_default=True,
    help="Severities to report, comma-separated.",
)
@click.option(
    "--exit-code",
    type=int,
    default=0,
    show_default=True,
    help="Exit code when vulnerabilities are reported.",
)
@click.option("--ignore-unfixed", is_flag=True, help="Report only vulnerabilities with a fix.")
@click.option(
    "--ignorefile",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File of vulnerability IDs to ignore (default: .trivyignore if present).",
)
@click.option(
    "--format", "fmt", type=click.Choice(REPORT_FORMATS), default="table", show_default=True
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--platform", help="Platform to pick from a multi-platform image.")
@click.pass_context
def scan_cmd(
    ctx: click.Context,
    target: str,
    severity: str,
    exit_code: int,
    ignore_unfixed: bool,
    ignorefile: Path | None,
    fmt: str,
    output: Path | None,
    platform: str | None,
) -> None:
    """Report the known vulnerabilities of the packages in an image, directory or archive,
    from the imported database (no network)."""
    severities = parse_severities(severity)
    if ignorefile is None and Path(".trivyignore").is_file():
        ignorefile = Path(".trivyignore")
    ignore = read_ignorefile(ignorefile) if ignorefile else set()
    db = _vulndb(ctx)
    try:
        if not db.status()["sources"]:
            raise FailedPrecondition(
                "no vulnerability data: run `dockyard db update` (or `dockyard db import DIR`)"
            )
        inventory = _inventory(ctx, target, platform)
        findings = match_inventory(db, inventory.packages, inventory.distro)
    finally:
        db.close()
    report = Report(inventory, findings).filtered(severities, ignore, ignore_unfixed)
    _write(report.render(fmt), output)
    if report.findings and exit_code:
        ctx.exit(exit_code)
