"""The ``dockyard`` command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dockyard import __version__
from dockyard.errors import DockyardError
from dockyard.local import LocalStore

__all__ = ["cli", "main", "open_store"]


class _Group(click.Group):
    """Docker-style failure: ``Error: …`` on stderr; exit 1 for errors, 125 for usage."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except DockyardError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            sys.exit(141)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="dockyard")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="DOCKYARD_ROOT",
    help="Local image store (default: $DOCKYARD_ROOT, else $XDG_DATA_HOME/dockyard).",
)
@click.pass_context
def cli(ctx: click.Context, root: Path | None) -> None:
    """dockyard: build, store, push, pull, serve, sign, scan and slim container images."""
    ctx.obj = {"root": root}


def open_store(ctx: click.Context) -> LocalStore:
    """The local store for this invocation (opened once)."""
    obj = ctx.find_root().obj
    if "store" not in obj:
        obj["store"] = LocalStore.open(obj["root"])
    store: LocalStore = obj["store"]
    return store


def register_commands() -> None:
    """Import every ``dockyard.cli._cmd_*`` module; each adds its commands to :data:`cli`."""
    import importlib
    import pkgutil

    import dockyard.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_cmd_"):
            importlib.import_module(f"dockyard.cli.{info.name}")


def _register_for(argv: list[str]) -> None:
    """Import only the module of the command being run when it is named after it
    (``dockyard build`` → ``_cmd_build``): the others' imports cost a short command time."""
    import importlib
    import importlib.util

    args = list(argv)
    while args and args[0].startswith("-"):
        option = args.pop(0)
        if option == "--root" and args:
            args.pop(0)
    if args and args[0].isidentifier():
        name = f"dockyard.cli._cmd_{args[0]}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
            if args[0] in cli.commands:
                return
    register_commands()


def main() -> None:
    _register_for(sys.argv[1:])

    try:
        result = cli.main(prog_name="dockyard", standalone_mode=False)
    except click.UsageError as exc:
        exc.show()
        sys.exit(125)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # without standalone mode, click returns ctx.exit()'s code instead of exiting
    sys.exit(result if isinstance(result, int) else 0)
