"""The house rule "a test module for the CLI layer per command group", checked: every command
in the command table is run by some tests/cli/test_cli_*.py module.

"Run" is read from the modules' syntax: the command's name is the first argument of a call
that runs the CLI (``run_in_process``, ``run_dockyard``, ``assert_help``, a helper's ``run``)
or an element of a list or tuple literal (argument lists, tables of cases, loops over
commands). A new command without such a module fails here until one is written."""

from __future__ import annotations

import ast
from pathlib import Path

from dockyard.cli._main import COMMANDS

CLI_TESTS = Path(__file__).resolve().parent
RUNNERS = {"run_in_process", "run_dockyard", "assert_help", "run", "dockyard"}


def _named(tree: ast.AST) -> set[str]:
    """The strings a module passes to the CLI as described above."""
    found: set[str] = set()
    for node in ast.walk(tree):
        candidates: list[ast.expr] = []
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in RUNNERS:
                candidates.append(node.args[0])
        elif isinstance(node, (ast.List, ast.Tuple)):
            candidates.extend(node.elts)
        found |= {
            c.value for c in candidates if isinstance(c, ast.Constant) and isinstance(c.value, str)
        }
    return found


def test_every_command_is_run_by_a_cli_test_module() -> None:
    by_module = {
        path.name: _named(ast.parse(path.read_text()))
        for path in sorted(CLI_TESTS.glob("test_cli_*.py"))
    }
    run = set().union(*by_module.values())
    missing = sorted(set(COMMANDS) - run)
    assert not missing, f"no tests/cli module runs: {missing}"


def test_the_check_sees_a_command_no_module_runs() -> None:
    """The reader finds names where the modules put them, and only there."""
    tree = ast.parse(
        "run_in_process('ps', '--bogus', root=r)\n"
        "cases = [['images', '-q'], ('tag', 'a', 'b')]\n"
        "other('rmi')\n"
        "x = 'save'\n"
    )
    assert {"ps", "images", "tag"} <= _named(tree)
    assert not {"rmi", "save"} & _named(tree)
