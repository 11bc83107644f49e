"""``dockyard audit ls``: a registry's audit log (Harbor's ``/api/v2.0/audit-logs``): who did
what to which resource, and when; newest first."""

from __future__ import annotations

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, api_options, emit_list, usage
from dockyard.client.harbor import AuditLog, parse_since
from dockyard.errors import InvalidArgument


@cli.group("audit")
def audit_group() -> None:
    """Read the audit log of a registry (Harbor's API)."""


def _row(entry: AuditLog) -> list[str]:
    return [entry.op_time, entry.username, entry.operation, entry.resource_type, entry.resource]


@audit_group.command("ls")
@click.option("--operation", help="Only this operation (create, delete, pull, login, …).")
@click.option("--user", "username", help="Only what this user or robot did.")
@click.option("--resource", help="Only this resource (e.g. team/app:v1).")
@click.option("--since", metavar="WHEN", help="Only since then: 24h, 7d, 2w, or a date/time.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="At most this many entries.",
)
@api_options
def ls_cmd(
    operation: str | None,
    username: str | None,
    resource: str | None,
    since: str | None,
    limit: int,
    harbor: Connector,
    fmt: str,
) -> None:
    """List audit log entries, newest first."""
    try:
        when = parse_since(since) if since else None
    except InvalidArgument as exc:
        raise usage(str(exc)) from None
    for name, value in (("--operation", operation), ("--user", username), ("--resource", resource)):
        if value is not None and (not value or any(c in value for c in ",=~[]{}()")):
            raise usage(f"{name} {value!r}: give a plain name")
    entries = harbor().audit_logs(
        operation=operation, username=username, resource=resource, since=when, limit=limit
    )
    emit_list(fmt, ["TIME", "USER", "OPERATION", "TYPE", "RESOURCE"], entries, _row)
