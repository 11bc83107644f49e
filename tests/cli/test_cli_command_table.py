"""The lazy command table loads, for each command, everything that defines it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dockyard.cli._main import COMMAND_MODULES

# What the top-level commands look like (with their subcommands) after importing some modules:
# for each list of modules on stdin, a child forked from an interpreter that has imported only
# the command group imports them (a fresh start each, one Python started for all). The parent
# first imports the libraries the commands use (everything but dockyard.cli), so that each child
# imports only command modules.
_PROBE = """
import importlib, json, os, sys
import click
from dockyard.cli._main import cli

def _fork(work):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read)
            result = work()
            with os.fdopen(write, "w") as out:
                json.dump(result, out)
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    if os.waitpid(pid, 0)[1] != 0:
        sys.exit("a probe failed")
    return json.loads(text)

def _libraries(modules):
    for module in modules:
        importlib.import_module("dockyard.cli." + module)
    return sorted(m for m in sys.modules if m.startswith("dockyard.") and not m.startswith("dockyard.cli"))

sets = json.load(sys.stdin)
for name in _fork(lambda: _libraries(sets[0])):
    importlib.import_module(name)
loaded = [m for m in sys.modules if m.startswith("dockyard.cli._cmd_")]
if loaded:
    sys.exit(f"the libraries import command modules: {loaded}")
shapes = []
for modules in sets:
    def shape(modules=modules):
        for module in modules:
            importlib.import_module("dockyard.cli." + module)
        return {
            name: sorted(command.commands) if isinstance(command, click.Group) else []
            for name, command in cli.commands.items()
        }
    shapes.append(_fork(shape))
print(json.dumps(shapes))
"""


def _shapes(*module_sets: tuple[str, ...]) -> list[dict[str, list[str]]]:
    """The command group after importing each set of modules (the first: every command module),
    each in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        input=json.dumps(module_sets),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    shapes: list[dict[str, list[str]]] = json.loads(out)
    return shapes


def _all_modules() -> list[str]:
    import pkgutil

    import dockyard.cli as package

    return sorted(
        m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("_cmd_")
    )


@pytest.mark.slow
def test_table_names_every_command_and_all_its_modules() -> None:
    sets = sorted(set(COMMAND_MODULES.values()))
    full, *each = _shapes(tuple(_all_modules()), *sets)
    assert set(COMMAND_MODULES) == set(full), (
        f"cli/_main.py COMMAND_MODULES is out of date: {set(COMMAND_MODULES) ^ set(full)}"
    )
    shapes = dict(zip(sets, each, strict=True))
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
