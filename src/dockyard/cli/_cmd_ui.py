"""``dockyard ui``: the console's image views over the local store, in a browser."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from dockyard.cli._main import cli, open_store
from dockyard.errors import InvalidArgument
from dockyard.ui import check_listen
from dockyard.ui.server import make_server

_TOKEN_ENV = "DOCKYARD_UI_TOKEN"


def _token(token_file: Path | None) -> str | None:
    if token_file is not None:
        try:
            return token_file.read_text().strip() or None
        except OSError as exc:
            raise InvalidArgument(
                f"cannot read --token-file {token_file}: {exc.strerror}"
            ) from None
    return os.environ.get(_TOKEN_ENV) or None


@cli.command(
    "ui",
    epilog="Examples:\n\n  dockyard ui                 # then open the URL it prints\n\n"
    "  DOCKYARD_UI_TOKEN=$(cat token) dockyard ui --listen 0.0.0.0 --allow-remote",
)
@click.option(
    "--listen", default="127.0.0.1", show_default=True,
    help="Address to listen on; anything but loopback needs --allow-remote and a token.",
)  # fmt: skip
@click.option("--port", type=int, default=7070, show_default=True, help="0: any free port.")
@click.option(
    "--allow-remote", is_flag=True,
    help="Allow a non-loopback --listen (with a token: every request must give it).",
)  # fmt: skip
@click.option(
    "--token-file", type=click.Path(dir_okay=False, path_type=Path),
    help=f"File holding the token asked of every request (else ${_TOKEN_ENV}); the browser "
    "asks for it as a password.",
)  # fmt: skip
@click.pass_context
def ui_cmd(
    ctx: click.Context, listen: str, port: int, allow_remote: bool, token_file: Path | None
) -> None:
    """See the local store's images in a browser: layers, files, wasted bytes, comparisons."""
    checked = check_listen(listen, port, allow_remote=allow_remote, token=_token(token_file))

    store = open_store(ctx)
    server = make_server(checked, store)
    click.echo(f"dockyard ui: serving {store.root} at {server.url}", nl=True)
    if checked.token is not None:
        click.echo("Every request must give the token as its password (any user name).")
    click.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()  # the URL, at once, to whatever reads it
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()
