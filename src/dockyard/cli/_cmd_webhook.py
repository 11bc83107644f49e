"""``dockyard webhook``: a project's webhook policies (Harbor's
``/projects/{project}/webhook/policies``) — list, add, remove, and the delivery log."""

from __future__ import annotations

import secrets
from dataclasses import asdict

import click

from dockyard.cli._main import cli
from dockyard.cli._teams import Connector, api_options, emit_list, emit_one, secret_warning
from dockyard.client.harbor.webhooks import (
    WebhookDelivery,
    WebhookPolicy,
    add_webhook,
    list_webhooks,
    remove_webhook,
    webhook_deliveries,
    webhook_json,
)

#: Harbor's event types (``dockyard.registry.events``; not imported: the CLI loads no server).
EVENT_TYPES = (
    "PUSH_ARTIFACT", "PULL_ARTIFACT", "DELETE_ARTIFACT", "SCANNING_COMPLETED",
    "SCANNING_FAILED", "SCANNING_STOPPED", "QUOTA_EXCEED", "QUOTA_WARNING", "REPLICATION",
    "TAG_RETENTION",
)  # fmt: skip


def _row(policy: WebhookPolicy) -> list[str]:
    address = policy.targets[0].get("address", "") if policy.targets else ""
    fmt = policy.targets[0].get("payload_format", "") if policy.targets else ""
    return [
        str(policy.id), policy.name, "true" if policy.enabled else "false", str(address),
        str(fmt), ",".join(policy.event_types),
    ]  # fmt: skip


@cli.group("webhook")
def webhook_group() -> None:
    """Webhook policies of a registry's projects (Harbor's API).

    Each event of the chosen types (pushes, pulls, deletes, scans, quotas, retention,
    replication) is POSTed to the policy's address, in Harbor's default payload or as a
    CloudEvents 1.0 event, signed with the policy's secret in X-Dockyard-Signature-256
    (sha256=<hex HMAC-SHA256 of the body>). Deliveries are retried with backoff and kept
    across registry restarts.

    \b
    dockyard webhook add team https://ci.example/hook --event PUSH_ARTIFACT
    dockyard webhook log team 1
    """


@webhook_group.command("ls")
@click.argument("project")
@api_options
def ls_cmd(project: str, harbor: Connector, fmt: str) -> None:
    """List PROJECT's webhook policies."""
    headers = ["ID", "NAME", "ENABLED", "ADDRESS", "FORMAT", "EVENTS"]
    emit_list(fmt, headers, list_webhooks(harbor(), project), _row)


@webhook_group.command("add")
@click.argument("project")
@click.argument("address")
@click.option("--name", help="The policy's name (default: the address).")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENT_TYPES),
    help="An event type to send (repeatable; default: all).",
)
@click.option(
    "--cloudevents", is_flag=True, help="Send CloudEvents 1.0 instead of Harbor's payload."
)
@click.option("--auth-header", default="", help="Sent as the Authorization header.")
@click.option(
    "--skip-cert-verify", is_flag=True, help="Do not verify the address's TLS certificate."
)
@click.option(
    "--secret",
    default=None,
    help="The HMAC-SHA256 key of the signature header (default: a new random one, shown once).",
)
@api_options
def add_cmd(
    project: str,
    address: str,
    name: str | None,
    events: tuple[str, ...],
    cloudevents: bool,
    auth_header: str,
    skip_cert_verify: bool,
    secret: str | None,
    harbor: Connector,
    fmt: str,
) -> None:
    """Send PROJECT's events to ADDRESS (an http:// or https:// URL); prints the new
    policy's id and its signing secret."""
    made = secret is None
    key = secrets.token_urlsafe(32) if secret is None else secret
    body = webhook_json(
        name or address, address, events or EVENT_TYPES,
        payload_format="CloudEvents" if cloudevents else "Default",
        auth_header=auth_header, skip_cert_verify=skip_cert_verify, secret=key,
    )  # fmt: skip
    policy = add_webhook(harbor(), project, body)
    if fmt == "json":
        emit_one(fmt, {**asdict(policy), "secret": key}, "")
    else:
        click.echo(f"{policy.id}\nsecret: {key}")
    if made:
        secret_warning()


@webhook_group.command("rm")
@click.argument("project")
@click.argument("policy_id", type=int)
@api_options
def rm_cmd(project: str, policy_id: int, harbor: Connector, fmt: str) -> None:
    """Remove webhook policy POLICY_ID of PROJECT (its waiting deliveries go with it)."""
    remove_webhook(harbor(), project, policy_id)
    emit_one(fmt, {"id": policy_id, "deleted": True}, str(policy_id))


def _delivery_row(d: WebhookDelivery) -> list[str]:
    last = d.log.strip().splitlines()[-1] if d.log.strip() else ""
    return [str(d.execution_id), d.event_type, d.status, str(d.attempts), d.time, last]


@webhook_group.command("log")
@click.argument("project")
@click.argument("policy_id", type=int)
@click.option("--limit", default=20, show_default=True, help="How many recent events.")
@api_options
def log_cmd(project: str, policy_id: int, limit: int, harbor: Connector, fmt: str) -> None:
    """The delivery log of webhook policy POLICY_ID: each recent event, its status, attempts
    and the outcome of the last attempt (status code, or why it failed)."""
    headers = ["EXECUTION", "EVENT", "STATUS", "ATTEMPTS", "CREATED", "LAST ATTEMPT"]
    rows = webhook_deliveries(harbor(), project, policy_id, limit=limit)
    emit_list(fmt, headers, rows, _delivery_row)
