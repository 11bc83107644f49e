"""The lazy command table loads, for each command, everything that defines it."""

from __future__ import annotations

import json
import subprocess
import sys

from dockyard.cli._main import COMMAND_MODULES

# What the top-level commands look like (with their subcommands) after importing some modules.
_PROBE = """
import importlib, json, sys
import click
from dockyard.cli._main import cli
for module in sys.argv[1:]:
    importlib.import_module("dockyard.cli." + module)
print(json.dumps({
    name: sorted(command.commands) if isinstance(command, click.Group) else []
    for name, command in cli.commands.items()
}))
"""


def _shape(*modules: str) -> dict[str, list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *modules], capture_output=True, text=True, check=True
    ).stdout
    shape: dict[str, list[str]] = json.loads(out)
    return shape


def _all_modules() -> list[str]:
    import pkgutil

    import dockyard.cli as package

    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("_cmd_")
    )


def test_table_names_every_command_and_all_its_modules() -> None:
    full = _shape(*_all_modules())
    assert set(COMMAND_MODULES) == set(full), (
        f"cli/_main.py COMMAND_MODULES is out of date: {set(COMMAND_MODULES) ^ set(full)}"
    )
    shapes = {modules: _shape(*modules) for modules in set(COMMAND_MODULES.values())}
    for name, modules in COMMAND_MODULES.items():
        assert shapes[modules].get(name) == full[name], (
            f"loading {modules} does not give all of {name!r}: add the missing module"
        )


def test_a_command_loads_only_its_modules() -> None:
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from dockyard.cli._main import cli\n"
        "CliRunner().invoke(cli, ['images', '--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith('dockyard.cli._cmd_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['dockyard.cli._cmd_images']"
