"""The dashboard page: storage by project, pushes and pulls a day, artifacts by their worst
vulnerability; each chart an inline SVG with its table."""

from __future__ import annotations

from dockyard.registry.console._charts import Bar, Series, bars, columns
from dockyard.registry.console._dashboard import Dashboard
from dockyard.registry.console._html import e, page, table
from dockyard.registry.console._views import size_text

__all__ = ["dashboard_page"]

#: bars drawn for storage; the rest are summed into one
_TOP = 15
_LABELS = {"NONE": "No findings", "UNSCANNED": "Not scanned yet"}


def _storage(board: Dashboard) -> str:
    total = sum(used for _, used in board.storage)
    shown = [Bar(name, used) for name, used in board.storage[:_TOP]]
    rest = board.storage[_TOP:]
    if rest:
        shown.append(Bar(f"{len(rest)} more projects", sum(used for _, used in rest), "rest"))
    return (
        '<section aria-labelledby="storage-h"><h2 id="storage-h">Storage</h2>'
        f'<p id="storage-total">{e(size_text(total))} used in all, '
        f"in {len(board.storage)} project{'' if len(board.storage) == 1 else 's'}</p>"
        + bars(
            "storage-chart",
            "Storage used by project",
            shown,
            unit="Used",
            label="Project",
            text=size_text,
        )
        + "</section>"
    )


def _activity(board: Dashboard) -> str:
    week = slice(len(board.days) - 7, None)
    totals = [
        ["Pushes", e(sum(board.pushes[week])), e(sum(board.pushes))],
        ["Pulls", e(sum(board.pulls[week])), e(sum(board.pulls))],
    ]
    series = [Series("Pushes", "push", board.pushes), Series("Pulls", "pull", board.pulls)]
    return (
        '<section aria-labelledby="activity-h"><h2 id="activity-h">Pushes and pulls</h2>'
        + table(
            "Pushes and pulls", ["Operation", "Last 7 days", f"Last {len(board.days)} days"], totals
        )
        + columns(
            "activity-chart",
            f"Pushes and pulls a day, last {len(board.days)} days",
            board.days,
            series,
            unit="count",
        )
        + "</section>"
    )


def _vulnerabilities(board: Dashboard) -> str:
    if board.severities is None:
        return ""
    items = [
        Bar(_LABELS.get(level, level.capitalize()), count, level.lower())
        for level, count in board.severities.items()
    ]
    vulnerable = sum(c for k, c in board.severities.items() if k not in _LABELS)
    return (
        '<section aria-labelledby="vuln-h"><h2 id="vuln-h">Vulnerable artifacts</h2>'
        f'<p id="vuln-total">{e(vulnerable)} of {e(sum(board.severities.values()))} artifacts '
        "have known vulnerabilities (counted by their worst)</p>"
        + bars(
            "vuln-chart",
            "Artifacts by their worst vulnerability",
            items,
            unit="Artifacts",
            label="Worst severity",
        )
        + "</section>"
    )


def dashboard_page(board: Dashboard, *, user: str, csrf: str) -> bytes:
    notes = "".join(f'<p class="muted">{e(n)}</p>' for n in board.notes)
    body = notes + _storage(board) + _activity(board) + _vulnerabilities(board)
    return page("Dashboard", body, user=user, csrf=csrf)
