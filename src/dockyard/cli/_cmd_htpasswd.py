"""``dockyard htpasswd``: Apache htpasswd's bcrypt subset, for registry:2-style auth files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dockyard.cli._main import cli
from dockyard.errors import InvalidArgument
from dockyard.registry.auth import (
    DEFAULT_COST,
    check_password,
    delete_user,
    htpasswd_line,
    read_htpasswd,
    set_user,
)

_OTHER_SCHEMES = {"-m": "MD5", "-d": "crypt", "-s": "SHA-1", "-p": "plain text", "-2": "SHA-256"}


@cli.command(
    "htpasswd",
    context_settings={"ignore_unknown_options": False},
    epilog="Examples:\n\n  dockyard htpasswd -Bbn alice s3cret > auth/htpasswd\n\n"
    "  dockyard htpasswd -Bb auth/htpasswd bob pa55word",
)
@click.option("-c", "create", is_flag=True, help="Create a new file (replaces an existing one).")
@click.option("-n", "to_stdout", is_flag=True, help="Print the line instead of updating a file.")
@click.option("-b", "batch", is_flag=True, help="Take the password from the command line.")
@click.option("-i", "from_stdin", is_flag=True, help="Read the password from stdin, unprompted.")
@click.option("-B", "bcrypt_", is_flag=True, help="bcrypt (the only scheme; always used).")
@click.option(
    "-C", "cost", type=click.IntRange(4, 17), default=DEFAULT_COST, show_default=True,
    help="bcrypt cost.",
)  # fmt: skip
@click.option("-D", "delete", is_flag=True, help="Delete the user from the file.")
@click.option("-v", "verify", is_flag=True, help="Verify the user's password in the file.")
@click.option("-m", "scheme_m", is_flag=True, hidden=True)
@click.option("-d", "scheme_d", is_flag=True, hidden=True)
@click.option("-s", "scheme_s", is_flag=True, hidden=True)
@click.option("-p", "scheme_p", is_flag=True, hidden=True)
@click.option("-2", "scheme_2", is_flag=True, hidden=True)
@click.argument("args", nargs=-1)
def htpasswd_command(
    create: bool,
    to_stdout: bool,
    batch: bool,
    from_stdin: bool,
    bcrypt_: bool,
    cost: int,
    delete: bool,
    verify: bool,
    scheme_m: bool,
    scheme_d: bool,
    scheme_s: bool,
    scheme_p: bool,
    scheme_2: bool,
    args: tuple[str, ...],
) -> None:
    """Make bcrypt htpasswd lines and files that registry:2 and Apache accept.

    \b
    htpasswd -Bbn USER PASSWORD        print USER:HASH
    htpasswd -Bn USER                  the same, password prompted (or read from stdin)
    htpasswd -Bb[c] FILE USER PASSWORD add or update USER in FILE (-c: new file)
    htpasswd -D FILE USER              delete USER
    htpasswd -vb FILE USER PASSWORD    check USER's password
    """
    for flag, used in zip(
        _OTHER_SCHEMES, (scheme_m, scheme_d, scheme_s, scheme_p, scheme_2), strict=True
    ):
        if used:
            raise InvalidArgument(
                f"{flag} ({_OTHER_SCHEMES[flag]}) is not supported",
                hint="registry:2 accepts only bcrypt: use -B",
            )
    if to_stdout and (create or delete or verify):
        raise click.UsageError("-n prints a line; it cannot be combined with -c, -D or -v")
    wanted = (1 if to_stdout else 2) + (0 if delete else int(batch))
    if len(args) != wanted:
        shape = "USER" if to_stdout else "FILE USER"
        raise click.UsageError(f"expected {shape}{' PASSWORD' if batch else ''}, got {len(args)}")
    if to_stdout:
        user = args[0]
        password = args[1] if batch else _read_password(from_stdin, confirm=True)
        click.echo(htpasswd_line(user, password, cost) + "\n")
        return
    path, user = Path(args[0]), args[1]
    if delete:
        delete_user(path, user)
        click.echo(f"Deleting password for user {user}", err=True)
        return
    password = args[2] if batch else _read_password(from_stdin, confirm=not verify)
    if verify:
        entries = read_htpasswd(path).entries
        if user not in entries:
            click.echo(f"User {user} not found", err=True)
            sys.exit(3)
        if not check_password(password, entries[user]):
            click.echo("password verification failed", err=True)
            sys.exit(3)
        click.echo(f"Password for user {user} correct.", err=True)
        return
    added = set_user(path, user, password, cost=cost, create=create)
    click.echo(f"{'Adding' if added else 'Updating'} password for user {user}", err=True)


def _read_password(from_stdin: bool, *, confirm: bool) -> str:
    """Prompt on a terminal (twice when making a password); otherwise read one stdin line."""
    stream = sys.stdin
    if from_stdin or not stream.isatty():
        line = stream.readline()
        if not line:
            raise InvalidArgument("no password on stdin", hint="pipe it in, or use -b")
        return line.rstrip("\r\n")
    password: str = click.prompt("New password", hide_input=True, err=True)
    if confirm:
        again: str = click.prompt("Re-type new password", hide_input=True, err=True)
        if again != password:
            raise InvalidArgument("password verification error: the two entries differ")
    return password
