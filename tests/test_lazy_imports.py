"""Where a module may import dockyard code inside a function, and why.

A module imports what it uses at its top. An import inside a function is allowed only where
deferring it is the design: the CLI's command table and the start-up paths
``tests/test_import_budget.py`` holds (``--help``, a no-op and a one-file rebuild, ``dockyard
run``, a copy between layouts), optional features loaded only when they are configured, and
an import that would close a cycle. ``ALLOWED`` names each module (or, ending in ``.``, each
package) that has such imports, with the reason; a module not listed that gains one fails, and
so does an entry none of whose modules has one any more (remove it).

Every module under ``src/dockyard`` is parsed, never imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "dockyard"

_NOOP = "the no-op rebuild (test_noop_build_imports_only_the_noop_check)"
_CHANGED = "a one-file rebuild (test_changed_file_build_imports_only_the_build_path)"
_RUN = "dockyard run (test_container_run_loads_only_the_snapshot_and_runtime_code)"
_COPY = "a copy between layouts (test_layout_copy_imports_only_the_formats_it_uses)"

#: module, or package prefix ending in ``.`` → why its functions import dockyard modules
ALLOWED: dict[str, str] = {
    # the command table and the start-up paths the import budget holds
    "dockyard.cli": "the command table and the two fast paths before click: " + _NOOP + ", " + _RUN,
    "dockyard.cli._main": "the store only for commands that open one (--help loads no store, "
    "test_help_lists_commands_without_importing_them); register_commands imports its own package",
    "dockyard.cli._run_argv": _RUN + ": the container code only once the command line is read",
    "dockyard.cli._build_run": "--platform lists, multi-platform builds and --cache-from/--cache-to "
    "load only when asked: " + _CHANGED,
    "dockyard.cli._cmd_client": "the local store only for pull and push: " + _COPY,
    "dockyard.atomicfile": "errors loads typing, which " + _NOOP + " leaves out",
    "dockyard.builder.cache.noop": "the writer and the errors only when a record is written or "
    "bad: " + _NOOP,
    "dockyard.builder.frontend.dispatch": "RUN --mount's parser only for a RUN with --mount "
    "(test_run_build_without_mounts_loads_no_mount_or_logging_code)",
    "dockyard.builder.frontend.stages": "RUN --mount's parser only for a RUN with --mount "
    "(test_run_build_without_mounts_loads_no_mount_or_logging_code)",
    "dockyard.builder.worker._run": "the --mount preparation only for a RUN with --mount "
    "(test_run_build_without_mounts_loads_no_mount_or_logging_code)",
    "dockyard.builder.worker._snapshots": "the layer tools only when a snapshot is unpacked or "
    "diffed: " + _RUN,
    "dockyard.builder.worker._worker": "each step kind's code (RUN, COPY, ADD <url>) when a step "
    "needs it: " + _CHANGED + " and " + _RUN + "; the checksum index imports worker helpers, a "
    "cycle at import time",
    "dockyard.builder.solver.": "each instruction's worker code (RUN, COPY, --mount), the "
    "registry client, cache transfer, qemu check, live display and debug shell only when a "
    "build uses them: " + _CHANGED,
    "dockyard.builder.multi": "the registry client, archives and cache transfer only for the "
    "--output/--push forms and caches a multi-platform build names",
    "dockyard.container.": _RUN + ": the package's __init__ loads _ps, _platform and _run, "
    "which defer the image model, the store and the emulation check; commit.py loads the "
    "builder's Dockerfile frontend only for commit -c (ps, rm and run load none of it)",
    "dockyard.dockerfile._convert": "heredoc sources only for a Dockerfile with heredocs: "
    + _CHANGED,
    "dockyard.image._recompress": "the layer tools and compressors only when a layer is "
    "recompressed: " + _COPY,
    "dockyard.image.open": "each location kind's endpoints (the local store, archives) only "
    "when that kind is opened: " + _COPY,
    # optional features, loaded only when configured
    "dockyard.registry._server": "the registry's wiring: each feature (token auth, policies, "
    "scanning, projects mode, replication, proxy, console, torrents) when its section is set",
    "dockyard.registry._projects_mode": "the LDAP directory (ldap3) only with auth.projects.ldap",
    "dockyard.registry._registry": "the S3 driver (aiobotocore) with storage.s3, Redis with redis",
    "dockyard.cli._cmd_p2p": "the agent (its HTTP server, the registry client and the swarm "
    "engine) loads only for `p2p agent` and a token check; `p2p preheat` loads the preheat "
    "client alone",
    # cycles
    "dockyard.registry.migrations": "a cycle: the MetaData of every table imports each "
    "feature's schema, whose packages import Registry, which opens its database here",
    "dockyard.registry.harbor._artifacts": "a cycle: _additions imports _artifacts",
    "dockyard.registry.policy._projects": "a cycle: scanning's service imports this module",
    "dockyard.registry.harbor.": "cycles inside the package: an artifact's answer holds its "
    "extras (_additions) and labels (_labels), which resolve artifacts through _artifacts",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def deferred(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) of each ``dockyard`` import inside a function of ``source``."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[tuple[int, str]] = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for stmt in func.body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package[: len(package) - node.level + 1]
                        names = [".".join([*base, *([node.module] if node.module else [])])]
                    else:
                        names = [node.module or ""]
                else:
                    continue
                found += [(node.lineno, n) for n in names if n.split(".")[0] == "dockyard"]
    return sorted(set(found))


def covered(module: str) -> str | None:
    """The ``ALLOWED`` entry ``module`` falls under (the longest), if any."""
    keys = [k for k in ALLOWED if module == k or (k.endswith(".") and module.startswith(k))]
    return max(keys, key=len, default=None)


@pytest.fixture(scope="module")
def modules() -> dict[str, list[tuple[int, str]]]:
    """Every module with function-level dockyard imports → those imports."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        found = deferred(path.read_text(), module, path.name == "__init__.py")
        if found:
            out[module] = found
    return out


def test_function_level_imports_only_where_allowed(
    modules: dict[str, list[tuple[int, str]]],
) -> None:
    bad = [
        f"{module}:{line} imports {target}"
        for module, found in modules.items()
        if covered(module) is None
        for line, target in found
    ]
    assert bad == [], (
        "import these at the top of the module, or add the module to ALLOWED with the reason "
        "(a cycle, a start-up path of tests/test_import_budget.py, an optional feature):\n"
        + "\n".join(bad)
    )


def test_every_allowed_entry_still_has_function_level_imports(
    modules: dict[str, list[tuple[int, str]]],
) -> None:
    used = {covered(module) for module in modules}
    stale = sorted(key for key in ALLOWED if key not in used)
    assert stale == [], "no function-level imports left: remove from ALLOWED:\n" + "\n".join(stale)


@pytest.mark.parametrize(
    ("module", "is_package", "source", "found"),
    [
        ("dockyard.a.b", False, "def f():\n    from dockyard.c import d\n", [(2, "dockyard.c")]),
        ("dockyard.a.b", False, "def f():\n    import dockyard.c.d\n", [(2, "dockyard.c.d")]),
        ("dockyard.a.b", False, "def f():\n    from ._c import d\n", [(2, "dockyard.a._c")]),
        ("dockyard.a", True, "def f():\n    from . import c\n", [(2, "dockyard.a")]),
        (
            "dockyard.a.b",
            False,
            "def f():\n    if x:\n        from .. import c\n",
            [(3, "dockyard")],
        ),
        (
            "dockyard.a.b",
            False,
            "class C:\n    def m(self):\n        import dockyard\n",
            [(3, "dockyard")],
        ),
        ("dockyard.a.b", False, "from dockyard.c import d\n", []),
        ("dockyard.a.b", False, "def f():\n    import json\n", []),
        ("dockyard.a.b", False, "if TYPE_CHECKING:\n    from dockyard.c import d\n", []),
    ],
)
def test_deferred_finds_imports_inside_functions(
    module: str, is_package: bool, source: str, found: list[tuple[int, str]]
) -> None:
    assert deferred(source, module, is_package) == found


def test_covered_matches_modules_and_package_prefixes() -> None:
    assert covered("dockyard.registry._server") == "dockyard.registry._server"
    assert covered("dockyard.builder.solver._steps") == "dockyard.builder.solver."
    assert covered("dockyard.registry._server_x") is None
    assert covered("dockyard.builder.solverx") is None
    assert covered("dockyard.registry.harbor._labels") == "dockyard.registry.harbor."
