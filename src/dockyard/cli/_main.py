from __future__ import annotations

import click

from dockyard import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dockyard")
def cli() -> None:
    """dockyard: build, store, push, pull, serve, sign, scan and slim container images."""


def main() -> None:
    cli()
