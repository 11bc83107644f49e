"""Tables for ``dockyard analyze`` and ``dockyard diff``."""

from __future__ import annotations

import json
from typing import Any

from dockyard.analyze import Advice, Analysis, CiResult, ImageDiff
from dockyard.cli._format import human_size

__all__ = ["analysis_table", "config_value", "diff_table"]


def _columns(rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def _count(files: int, size: int, sign: str) -> str:
    return f"{sign}{files} ({human_size(size)})" if files else "-"


def analysis_table(
    analysis: Analysis, advice: list[Advice], ci: CiResult | None, top: int = 20
) -> str:
    lines = [f"Image: {analysis.image}", "", "Layers:"]
    rows = [["#", "SIZE", "ADDED", "CHANGED", "REMOVED", "COMMAND"]]
    for layer in analysis.layers:
        c = layer.changes
        command = " ".join(layer.command.split())
        rows.append(
            [
                str(layer.index),
                human_size(layer.size),
                _count(c.added_files, c.added_bytes, "+"),
                _count(c.changed_files, c.changed_bytes, "~"),
                _count(c.removed_files, c.removed_bytes, "-"),
                command if len(command) <= 70 else command[:69] + "…",
            ]
        )
    lines += _columns(rows, right={0, 1})
    wasted = analysis.wasted_bytes
    lines += [
        "",
        "Analysis:",
        f"  efficiency:         {analysis.efficiency * 100:.4f} %",
        f"  wastedBytes:        {wasted} bytes" + (f" ({human_size(wasted)})" if wasted else ""),
        "  userWastedPercent:  "
        + (f"{analysis.user_wasted_percent * 100:.4f} %" if wasted else "0 %"),
        f"  imageSize:          {human_size(analysis.size)} in {len(analysis.layers)} layers",
        "",
    ]
    if analysis.inefficiencies:
        shown = analysis.inefficiencies[:top]
        more = len(analysis.inefficiencies) - len(shown)
        lines.append(
            "Inefficient files:"
            + (f" (largest {top} of {len(analysis.inefficiencies)})" if more > 0 else "")
        )
        rows = [["COUNT", "WASTED", "PATH"]]
        rows += [[str(i.count), human_size(i.cumulative_size), i.path] for i in shown]
        lines += _columns(rows, right={0, 1})
    else:
        lines.append("Inefficient files: (none)")
    lines += ["", "Advice:" if advice else "Advice: (none)"]
    for item in advice:
        lines.append(f"  [{item.code}] {item.message}")
    if ci is not None:
        lines += ["", "Results:"]
        for r in ci.results:
            lines.append(f"  {r.status}: {r.rule}" + (f": {r.message}" if r.message else ""))
        tally = [sum(r.status == s for r in ci.results) for s in ("PASS", "FAIL", "SKIP")]
        lines.append(
            f"Result:{'PASS' if ci.passed else 'FAIL'} [Total:{len(ci.results)}] "
            f"[Passed:{tally[0]}] [Failed:{tally[1]}] [Warn:0] [Skipped:{tally[2]}]"
        )
    return "\n".join(lines)


def _size(value: int | None) -> str:
    return "-" if value is None else human_size(value)


def config_value(value: Any) -> str:
    """A config value in one table cell: strings as they are, anything else as JSON, the way a
    Dockerfile writes it (``["/bin/sh", "-c"]``: an argument holding a space stays visibly one
    argument, which docker's ``[/bin/sh -c]`` loses); nothing for an absent value."""
    if value is None:
        return ""
    if isinstance(value, str) and value.isprintable():
        return value
    return json.dumps(value, ensure_ascii=False)


def diff_table(diff: ImageDiff) -> str:
    lines = [
        f"--- {diff.image1} ({diff.layers1} layers)",
        f"+++ {diff.image2} ({diff.layers2} layers, {diff.shared_layers} shared)",
        "",
    ]
    if diff.config:
        lines.append("Config:")
        rows = [["STATUS", "KEY", "OLD", "NEW"]]
        for c in diff.config:
            rows.append([c.status, c.key, config_value(c.old), config_value(c.new)])
        lines += _columns(rows)
    else:
        lines.append("Config: (no differences)")
    lines.append("")
    if diff.files:
        lines.append("Files:")
        rows = [["STATUS", "KIND", "OLD SIZE", "NEW SIZE", "PATH"]]
        for f in diff.files:
            status = f.status if not f.what else f"{f.status} ({f.what})"
            rows.append([status, f.kind, _size(f.old_size), _size(f.new_size), f.path])
        lines += _columns(rows, right={2, 3})
    else:
        lines.append("Files: (no differences)")
    totals = diff.totals()
    lines += [
        "",
        "  ".join(
            f"{status}: {t['count']} ({human_size(t['bytes'])})" for status, t in totals.items()
        ),
    ]
    return "\n".join(lines)
