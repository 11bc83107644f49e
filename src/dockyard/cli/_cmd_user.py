"""``dockyard user``: a registry's local accounts (Harbor's ``/api/v2.0/users``): create, ls,
rm, passwd, set-admin, and personal CLI secrets."""

from __future__ import annotations

import sys

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import (
    Connector,
    ago,
    api_options,
    emit_list,
    emit_one,
    read_secret,
    secret_warning,
    usage,
)
from dockyard.client.harbor import User, new_cli_secret


@cli.group("user")
def user_group() -> None:
    """Manage the user accounts of a registry (Harbor's API)."""


@user_group.command("create")
@click.argument("username")
@click.option("--email", default="", help="The user's e-mail address.")
@click.option("--realname", default="", help="The user's full name (default: USERNAME).")
@click.option("--comment", default="", help="A note about the account.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@api_options
def create_cmd(
    username: str,
    email: str,
    realname: str,
    comment: str,
    password_stdin: bool,
    harbor: Connector,
    fmt: str,
) -> None:
    """Create a local user (the password needs 8+ characters with upper, lower and a digit)."""
    password = read_secret(password_stdin, "Password", confirm=True)
    user = harbor().create_user(username, password, email=email, realname=realname, comment=comment)
    emit_one(fmt, user, user.username)


def _user_row(u: User) -> list[str]:
    return [
        u.username,
        str(u.user_id),
        "true" if u.sysadmin_flag else "false",
        u.email,
        ago(u.creation_time),
    ]


@user_group.command("ls")
@click.option("--name", help="Only users whose name contains this.")
@api_options
def ls_cmd(name: str | None, harbor: Connector, fmt: str) -> None:
    """List users (system admins only)."""
    users = harbor().list_users(name=name)
    emit_list(fmt, ["NAME", "ID", "ADMIN", "EMAIL", "CREATED"], users, _user_row)


@user_group.command("rm")
@click.argument("username")
@api_options
def rm_cmd(username: str, harbor: Connector, fmt: str) -> None:
    """Remove a user."""
    harbor().delete_user(username)
    emit_one(fmt, {"username": username, "deleted": True}, username)


@user_group.command("passwd")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the new password from stdin (with --old: the old one on the line before).",
)
@click.option(
    "--old",
    "ask_old",
    is_flag=True,
    help="Give the old password too (needed for your own, unless you are a system admin).",
)
@api_options
def passwd_cmd(
    username: str, password_stdin: bool, ask_old: bool, harbor: Connector, fmt: str
) -> None:
    """Change a user's password."""
    old = read_secret(password_stdin, "Old password") if ask_old else None
    new = read_secret(password_stdin, "New password", confirm=True)
    harbor().set_password(username, new, old=old)
    emit_one(fmt, {"username": username, "password_changed": True}, username)


@user_group.command("set-admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take system admin away instead.")
@api_options
def set_admin_cmd(username: str, revoke: bool, harbor: Connector, fmt: str) -> None:
    """Make a user a system admin (or, with --revoke, no longer one)."""
    harbor().set_sysadmin(username, not revoke)
    emit_one(fmt, {"username": username, "sysadmin_flag": not revoke}, username)


@user_group.command("cli-secret")
@click.argument("username")
@click.option(
    "--secret-stdin",
    is_flag=True,
    help="Read the secret from stdin instead of generating one.",
)
@api_options
def cli_secret_cmd(username: str, secret_stdin: bool, harbor: Connector, fmt: str) -> None:
    """Set USERNAME's CLI secret, a password for docker/podman logins that can be replaced
    without changing the account's password; prints it once."""
    if secret_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise usage("--secret-stdin: stdin held no secret")
    else:
        secret = new_cli_secret()
    harbor().set_cli_secret(username, secret)
    if not secret_stdin:
        secret_warning()
    emit_one(fmt, {"username": username, "secret": secret}, secret)
