"""``docs/access.md`` says what the code does: its permission tables are the data of
``dockyard.registry.access._roles`` and its endpoint list is the API's route table.

Each table sits between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` markers. The tables
are read back cell by cell (action order and spacing are free), so a change to either side
that the other does not follow fails here; the failure message carries the table as the code
has it, ready to paste (``python tests/registry/access/test_access_docs.py`` prints all three).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from dockyard.registry.access import (
    PROJECT_ROBOT_ACCESS,
    PUBLIC_PROJECT_POLICIES,
    ROLE_POLICIES,
    SYSTEM_ROBOT_ACCESS,
    Policy,
    Role,
)
from dockyard.registry.harbor import PREFIX, ROUTES

DOC = Path(__file__).resolve().parents[3] / "docs" / "access.md"

#: The order actions are written in (others follow, sorted).
ACTION_ORDER = ("create", "read", "update", "delete", "list", "pull", "push", "operate", "stop")
NONE = "—"
ROLE_COLUMNS = (
    Role.PROJECT_ADMIN,
    Role.MAINTAINER,
    Role.DEVELOPER,
    Role.GUEST,
    Role.LIMITED_GUEST,
)

#: column heading → the policies that column shows
Columns = dict[str, frozenset[Policy]]


def role_columns() -> Columns:
    cols: Columns = {role.harbor_name: ROLE_POLICIES[role] for role in ROLE_COLUMNS}
    cols["anyone (public project)"] = PUBLIC_PROJECT_POLICIES
    return cols


def robot_columns() -> Columns:
    return {"project robot": PROJECT_ROBOT_ACCESS, "system robot": SYSTEM_ROBOT_ACCESS}


def _action_key(action: str) -> tuple[int, str]:
    return (ACTION_ORDER.index(action) if action in ACTION_ORDER else len(ACTION_ORDER), action)


def render_policy_table(columns: Columns) -> str:
    """A Markdown table: one row per resource, one column per holder, each cell the actions."""
    resources = sorted({r for policies in columns.values() for r, _ in policies})
    lines = [
        "| resource | " + " | ".join(columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for resource in resources:
        cells = []
        for policies in columns.values():
            actions = sorted((a for r, a in policies if r == resource), key=_action_key)
            cells.append(" ".join(actions) or NONE)
        lines.append(f"| `{resource}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_routes() -> str:
    lines = ["| method | path | what it does |", "|---|---|---|"]
    for route in ROUTES:
        summary = route.summary.replace("|", "\\|")
        lines.append(f"| {route.method} | `{PREFIX}{route.template}` | {summary} |")
    return "\n".join(lines)


TABLES: Mapping[str, Callable[[], str]] = {
    "role-table": lambda: render_policy_table(role_columns()),
    "robot-table": lambda: render_policy_table(robot_columns()),
    "api-routes": render_routes,
}


def block(name: str, text: str | None = None) -> list[list[str]]:
    """The rows of the table between ``name``'s markers, as lists of stripped cells (the
    heading row first, the ``---`` row left out)."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    found = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", text, re.DOTALL)
    assert found is not None, f"docs/access.md has no <!-- {name}:begin/end --> block"
    rows = []
    for line in found.group(1).splitlines():
        line = line.strip()
        if not line.startswith("|") or re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", line):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip("|"))
        rows.append([c.strip() for c in cells])
    return rows


def read_policy_table(rows: list[list[str]]) -> dict[str, set[Policy]]:
    """Heading → the (resource, action) pairs its column grants."""
    heading, *body = rows
    columns: dict[str, set[Policy]] = {h: set() for h in heading[1:]}
    for row in body:
        assert len(row) == len(heading), f"row {row} has {len(row)} cells, not {len(heading)}"
        resource = row[0].strip("`")
        for column, cell in zip(heading[1:], row[1:], strict=True):
            if cell != NONE:
                columns[column].update((resource, a) for a in cell.split())
    return columns


def _expected(columns: Columns) -> dict[str, set[Policy]]:
    return {name: set(policies) for name, policies in columns.items()}


def _differences(doc: Mapping[str, set[Policy]], code: Mapping[str, set[Policy]]) -> list[str]:
    out = [f"column {c!r} is in the docs only" for c in doc.keys() - code.keys()]
    out += [f"column {c!r} is missing from the docs" for c in code.keys() - doc.keys()]
    for column in code.keys() & doc.keys():
        out += [f"{column}: docs only {p}" for p in sorted(doc[column] - code[column])]
        out += [f"{column}: code only {p}" for p in sorted(code[column] - doc[column])]
    return out


@pytest.mark.parametrize(
    ("name", "columns"),
    [("role-table", role_columns), ("robot-table", robot_columns)],
)
def test_permission_tables_are_the_roles_data(name: str, columns: Callable[[], Columns]) -> None:
    wrong = _differences(read_policy_table(block(name)), _expected(columns()))
    assert wrong == [], (
        f"docs/access.md's {name} differs from dockyard.registry.access._roles:\n"
        + "\n".join(wrong)
        + f"\n\nthe table as the code has it:\n{TABLES[name]()}"
    )


def test_the_endpoint_list_is_the_route_table() -> None:
    rows = block("api-routes")[1:]
    documented = {(r[0], r[1].strip("`")) for r in rows}
    served = {(route.method, PREFIX + route.template) for route in ROUTES}
    assert documented == served, (
        f"docs only: {sorted(documented - served)}\ncode only: {sorted(served - documented)}"
        f"\n\nthe list as the route table has it:\n{render_routes()}"
    )


def _doc_with(name: str, table: str) -> str:
    return f"text\n<!-- {name}:begin -->\n{table}\n<!-- {name}:end -->\n"


def test_the_reader_sees_a_changed_cell() -> None:
    """The check is not vacuous: dropping one action, adding one, or renaming a column is
    each a difference."""
    code = _expected(role_columns())
    table = render_policy_table(role_columns())
    assert _differences(read_policy_table(block("t", _doc_with("t", table))), code) == []
    dropped = table.replace("| `repository` | create read update delete list pull push |",
                            "| `repository` | create read update delete list pull |")  # fmt: skip
    assert dropped != table
    assert _differences(read_policy_table(block("t", _doc_with("t", dropped))), code) == [
        "projectAdmin: code only ('repository', 'push')"
    ]
    added = table.replace("| `quota` | read |", "| `quota` | read update |")
    assert added != table
    assert _differences(read_policy_table(block("t", _doc_with("t", added))), code) == [
        "projectAdmin: docs only ('quota', 'update')"
    ]
    renamed = table.replace("| limitedGuest |", "| limited |")
    assert len(_differences(read_policy_table(block("t", _doc_with("t", renamed))), code)) == 2


def _print_tables(names: Iterable[str]) -> None:
    for name in names:
        print(f"<!-- {name}:begin -->\n{TABLES[name]()}\n<!-- {name}:end -->\n")


if __name__ == "__main__":
    _print_tables(TABLES)
