"""analyze, diff and lint: measure an image's waste, compare images, check Dockerfiles."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dockyard.analyze import (
    DEFAULT_RULES,
    advise,
    analyze_image,
    diff_images,
    evaluate,
    load_ci_config,
    open_image,
)
from dockyard.analyze.lint import LintConfig, fails, lint_file, lint_source, load_config, render
from dockyard.cli._analyze_output import analysis_table, diff_table
from dockyard.cli._main import cli, open_store

_FORMAT = click.Choice(["table", "json"])


@cli.command("analyze")
@click.argument("image")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.option("--ci", is_flag=True, help="Evaluate dive's CI rules; exit 1 when one fails.")
@click.option(
    "--ci-config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=".dive-ci",
    show_default=True,
    help="dive's CI rule file (used when it exists; flags given here win over it).",
)
@click.option("--lowest-efficiency", help="Lowest allowed efficiency, 0-1 (default 0.9).")
@click.option("--highest-wasted-bytes", help="Most wasted bytes allowed, e.g. 20MB (default off).")
@click.option(
    "--highest-user-wasted-percent",
    help="Most wasted bytes allowed as a ratio of the non-base layers' bytes (default 0.1).",
)
@click.option("--top", type=int, default=20, show_default=True, help="Inefficient files shown.")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Hash every layer while reading it; --no-verify trusts the check made when the store "
    "wrote it, and is faster.",
)
@click.pass_context
def analyze_cmd(
    ctx: click.Context,
    image: str,
    fmt: str,
    ci: bool,
    ci_config: Path,
    lowest_efficiency: str | None,
    highest_wasted_bytes: str | None,
    highest_user_wasted_percent: str | None,
    top: int,
    verify: bool,
) -> None:
    """Layer sizes, what each layer changed, wasted space and dive's efficiency score."""
    rules = DEFAULT_RULES
    if ci_config.exists():
        rules = load_ci_config(ci_config)
    rules = rules.merged(
        lowest_efficiency=lowest_efficiency,
        highest_wasted_bytes=highest_wasted_bytes,
        highest_user_wasted_percent=highest_user_wasted_percent,
    )
    if ci:
        rules.check()  # refuse bad settings before reading any layer
    store = open_store(ctx)
    analysis = analyze_image(open_image(store, image), image, verify=verify)
    advice = advise(analysis)
    result = evaluate(analysis, rules) if ci else None
    if fmt == "json":
        out = analysis.to_json()
        out["advice"] = [a.to_json() for a in advice]
        if result is not None:
            out["ci"] = result.to_json()
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(analysis_table(analysis, advice, result, top))
    if result is not None and not result.passed:
        sys.exit(1)


@cli.command("diff")
@click.argument("image1")
@click.argument("image2")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.pass_context
def diff_cmd(ctx: click.Context, image1: str, image2: str, fmt: str) -> None:
    """Config and file differences between two images (added, removed, changed)."""
    store = open_store(ctx)
    diff = diff_images(open_image(store, image1), open_image(store, image2), image1, image2)
    if fmt == "json":
        click.echo(json.dumps(diff.to_json(), indent=2))
    else:
        click.echo(diff_table(diff))


@cli.command("lint")
@click.argument("dockerfiles", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["tty", "json", "sarif", "checkstyle"]), default="tty"
)
@click.option("--ignore", "ignored", multiple=True, help="A rule to leave out (repeatable).")
@click.option(
    "--failure-threshold",
    type=click.Choice(["error", "warning", "info", "style", "none"]),
    help="Exit 1 when a finding is at least this severe (default info, as hadolint).",
)
@click.option("--no-fail", is_flag=True, help="Exit 0 whatever is found.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="hadolint config (default: ./.hadolint.yaml when it exists).",
)
def lint_cmd(
    dockerfiles: tuple[Path, ...],
    fmt: str,
    ignored: tuple[str, ...],
    failure_threshold: str | None,
    config_path: Path | None,
    no_fail: bool,
) -> None:
    """Check Dockerfiles: hadolint's rules, BuildKit's build checks, image-size advice."""
    config = LintConfig()
    default = Path(".hadolint.yaml")
    if config_path is not None:
        config = load_config(config_path)
    elif default.exists():
        config = load_config(default)
    config.ignored |= set(ignored)
    if failure_threshold is not None:
        config.failure_threshold = failure_threshold
    findings = []
    if not dockerfiles or dockerfiles == (Path("-"),):
        if not dockerfiles and Path("Dockerfile").exists():
            findings = lint_file(Path("Dockerfile"), config, "Dockerfile")
        else:
            findings = lint_source(sys.stdin.read(), "-", config)
    else:
        for path in dockerfiles:
            findings += lint_file(path, config, str(path))
    text = render(findings, fmt)
    if text:
        click.echo(text)
    if not (config.no_fail or no_fail) and fails(findings, config.failure_threshold):
        sys.exit(1)
