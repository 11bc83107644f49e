"""Docker's output helpers: human sizes and ages, tab-aligned tables, ``--format`` templates."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click

from dockyard.errors import InvalidArgument

__all__ = ["bytes_size", "emit_rows", "human_duration", "human_size", "render_template", "table"]

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
_BINARY_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]


def human_size(size: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, 3 significant digits (``1.24MB``)."""
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.{precision}g}{_UNITS[unit]}"


def bytes_size(size: float) -> str:
    """go-units BytesSize, as ``docker info`` shows memory: binary units, 4 significant digits
    (``15.52GiB``)."""
    unit = 0
    while size >= 1024 and unit < len(_BINARY_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{size:.4g}{_BINARY_UNITS[unit]}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration (``About a minute``, ``2 weeks``)."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds // 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def since(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return "N/A"
    now = now or datetime.now(UTC)
    return f"{human_duration((now - when).total_seconds())} ago"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Go's tabwriter as docker sets it up: min width 10, padding 3."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [list(headers), *[list(r) for r in rows]]:
        cells = [
            cell.ljust(max(widths[i] + 3, 10)) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append("".join(cells).rstrip())
    return "\n".join(lines)


_ACTION = re.compile(r"\{\{\s*(.*?)\s*\}\}")


def _lookup(obj: Any, path: str) -> Any:
    if path in ("", "."):
        return obj
    for part in path.lstrip(".").split("."):
        if isinstance(obj, Mapping) and part in obj:
            obj = obj[part]
        else:
            raise InvalidArgument(
                f"template: can't evaluate field {part}: use one of the names `--format json` shows"
            )
    return obj


def _go_string(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_string(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_string(v) for v in value) + "]"
    return str(value)


def render_template(template: str, obj: Mapping[str, Any]) -> str:
    """The subset of Go templates docker users write: ``{{.A.B}}``, ``{{json .A}}``, ``{{.A | json}}``."""

    def action(match: re.Match[str]) -> str:
        expr = match.group(1)
        as_json = False
        if expr.startswith("json "):
            as_json, expr = True, expr[5:].strip()
        elif expr.endswith("| json"):
            as_json, expr = True, expr[:-6].strip()
        if not expr.startswith("."):
            raise InvalidArgument(f"template: unsupported action {{{{{match.group(1)}}}}}")
        value = _lookup(obj, expr)
        return json.dumps(value) if as_json else _go_string(value)

    text = template.replace("\\t", "\t").replace("\\n", "\n")
    return _ACTION.sub(action, text)


def emit_rows(
    fmt: str | None,
    headers: Sequence[str],
    keys: Sequence[str],
    objects: Sequence[Mapping[str, Any]],
    *,
    default_rows: Sequence[Sequence[str]] | None = None,
) -> None:
    """Print a listing: default table, ``json`` (one object a line), ``table TEMPLATE`` or TEMPLATE."""
    if fmt is None or fmt == "table":
        rows = default_rows or [[_go_string(o.get(k, "")) for k in keys] for o in objects]
        click.echo(table(headers, rows))
        return
    if fmt == "json":
        for obj in objects:
            click.echo(json.dumps(obj, separators=(",", ":")))
        return
    if fmt.startswith("table "):
        template = fmt[6:]
        header_obj: dict[str, Any] = {k: k.upper() for o in objects[:1] for k in o}
        header_obj.update(zip(keys, headers, strict=True))
        lines = [render_template(template, header_obj)]
        lines += [render_template(template, o) for o in objects]
        split = [line.split("\t") for line in lines]
        click.echo(table(split[0], split[1:]))
        return
    for obj in objects:
        click.echo(render_template(fmt, obj))
