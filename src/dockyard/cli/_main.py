"""The ``dockyard`` command group, global options and the one place errors become exit codes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard import __version__
from dockyard.cli._failure import report
from dockyard.errors import DockyardError

if TYPE_CHECKING:
    from dockyard.local import LocalStore

__all__ = ["cli", "main", "open_store"]


#: Which ``_cmd_*`` modules define (or add subcommands to) each top-level command. Commands are
#: imported only when used, so ``dockyard images`` never pays for the registry or the builder.
#: tests/cli/test_command_table.py checks this table against what the modules really register.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "analyze": ("_cmd_analyze",),
    "attest": ("_cmd_sign",),
    "build": ("_cmd_build",),
    "builder": ("_cmd_builder",),
    "copy": ("_cmd_client",),
    "db": ("_cmd_scan",),
    "delete": ("_cmd_client",),
    "diff": ("_cmd_analyze",),
    "digest": ("_cmd_client",),
    "generate-key-pair": ("_cmd_sign",),
    "history": ("_cmd_images",),
    "htpasswd": ("_cmd_htpasswd",),
    "image": ("_cmd_images", "_cmd_archives"),
    "images": ("_cmd_images",),
    "import": ("_cmd_archives",),
    "import-key-pair": ("_cmd_sign",),
    "info": ("_cmd_system",),
    "inspect": ("_cmd_images",),
    "lint": ("_cmd_analyze",),
    "load": ("_cmd_archives",),
    "login": ("_cmd_client",),
    "logout": ("_cmd_client",),
    "manifest": ("_cmd_client",),
    "pull": ("_cmd_client",),
    "push": ("_cmd_client",),
    "registry": ("_cmd_registry",),
    "rmi": ("_cmd_images",),
    "save": ("_cmd_archives",),
    "sbom": ("_cmd_scan",),
    "scan": ("_cmd_scan",),
    "sign": ("_cmd_sign",),
    "system": ("_cmd_system",),
    "tag": ("_cmd_images",),
    "tags": ("_cmd_client",),
    "tree": ("_cmd_sign",),
    "verify": ("_cmd_sign",),
    "verify-attestation": ("_cmd_sign",),
}


class _Group(click.Group):
    """Loads commands lazily (see COMMAND_MODULES); docker-style failure: ``Error: …`` on
    stderr, exit 1 for errors, 125 for usage."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMAND_MODULES))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        import importlib

        for module in COMMAND_MODULES.get(cmd_name, ()):
            importlib.import_module(f"dockyard.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (DockyardError, OSError) as exc:
            sys.exit(report(exc))


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
        from dockyard.local import LocalStore  # not at import: commands without a store skip it

        obj["store"] = LocalStore.open(obj["root"])
    store: LocalStore = obj["store"]
    return store


def register_commands() -> None:
    """Import every ``dockyard.cli._cmd_*`` module now (commands otherwise load on first use)."""
    import importlib
    import pkgutil

    import dockyard.cli as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_cmd_"):
            importlib.import_module(f"dockyard.cli.{info.name}")


_fast_exit = False


def exit_without_teardown() -> None:
    """For commands whose results are durable and printed when they return (copy, pull,
    push): :func:`main` then leaves with ``os._exit`` after flushing output, skipping the
    interpreter's teardown (~20 ms of freeing objects, a tenth of a small pull)."""
    global _fast_exit
    _fast_exit = True


def main() -> None:
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
    code = result if isinstance(result, int) else 0
    if _fast_exit:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
