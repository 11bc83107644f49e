"""What the team commands (project, user, robot, audit) share: ``--registry``, ``--format``,
TLS flags, a lazily connected :class:`HarborClient`, and their output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from dockyard.cli._format import emit_rows, since, table
from dockyard.client import ClientOptions
from dockyard.client.harbor import HarborClient, as_json, connect, resolve_registry
from dockyard.errors import InvalidArgument

__all__ = [
    "Connector",
    "ago",
    "api_options",
    "emit_list",
    "emit_one",
    "read_secret",
    "secret_warning",
    "usage",
]

F = TypeVar("F", bound=Callable[..., Any])
#: Connects to the registry on first call (so usage errors come before any network traffic).
Connector = Callable[[], HarborClient]


def api_options(func: F) -> F:
    """--registry, --format, --tls-verify, --ca-cert; the command gets ``harbor`` (a
    :data:`Connector`) and ``fmt`` (``table`` or ``json``)."""

    @click.option(
        "--registry",
        metavar="URL",
        envvar="DOCKYARD_REGISTRY",
        help="The registry (default: $DOCKYARD_REGISTRY, else the only one `dockyard login` "
        "has credentials for).",
    )
    @click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Output: a table, or JSON (listings: one object a line) for scripts.",
    )
    @click.option(
        "--tls-verify",
        "tls_verify",
        type=click.BOOL,
        default=None,
        metavar="BOOL",
        help="Require HTTPS and verify certificates (default: yes, except localhost-style "
        "registries).",
    )
    @click.option(
        "--ca-cert",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="Trust this CA certificate (PEM) for the registry.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        registry: str | None = kwargs.pop("registry")
        tls_verify: bool | None = kwargs.pop("tls_verify")
        ca_cert: Path | None = kwargs.pop("ca_cert")
        client: list[HarborClient] = []

        def harbor() -> HarborClient:
            if not client:
                options = ClientOptions(tls_verify=tls_verify, ca_cert=ca_cert)
                where = resolve_registry(registry, options.credentials)
                client.append(HarborClient(connect(where, options)))
            return client[0]

        kwargs["harbor"] = harbor
        return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def ago(text: str) -> str:
    """Harbor's ``2024-01-02T03:04:05.678Z`` as ``2 hours ago``."""
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return since(when)


def _plain(record: Any) -> Any:
    return as_json(record) if is_dataclass(record) else record


def emit_list(
    fmt: str,
    headers: Sequence[str],
    records: Sequence[Any],
    row: Callable[[Any], Sequence[str]],
) -> None:
    """A listing: a table of ``row(record)``, or one JSON object a line (Harbor's fields)."""
    objects = [_plain(r) for r in records]
    if fmt == "json":
        emit_rows("json", headers, [], objects)
        return
    click.echo(table(headers, [list(row(r)) for r in records]))


def emit_one(fmt: str, record: Any, text: str | Mapping[str, str]) -> None:
    """One record: JSON (Harbor's fields), or ``text`` (a line, or FIELD/VALUE rows)."""
    if fmt == "json":
        click.echo(json.dumps(_plain(record), separators=(",", ":")))
    elif isinstance(text, str):
        click.echo(text)
    else:
        click.echo(table(["FIELD", "VALUE"], [[k, v] for k, v in text.items()]))


def secret_warning() -> None:
    click.echo("Keep the secret now: it cannot be shown again.", err=True)


def read_secret(stdin: bool, prompt: str, *, confirm: bool = False) -> str:
    """A password from one line of stdin (``--password-stdin``) or a hidden prompt."""
    if stdin:
        value = sys.stdin.readline().rstrip("\r\n")
    else:
        value = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)
    if not value:
        raise InvalidArgument(f"{prompt.lower()} is empty", hint="give a non-empty password")
    return value


def usage(message: str) -> click.UsageError:
    """A usage error of the running command (exit 125, with its usage line)."""
    return click.UsageError(message, ctx=click.get_current_context(silent=True))
