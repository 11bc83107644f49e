"""The import budget: which modules ``dockyard --help`` and a small ``dockyard build`` may load.

Start-up time is most of a no-op rebuild and a good part of a one-file rebuild, and it grows one
innocent import at a time. Each case runs the real command line in a fresh interpreter that
reports every module it imports, and compares the ``dockyard.*`` modules it loaded with the
allow-list here, and checks that heavy third-party packages stay out. A change that needs a new module on one of these
paths adds it to the list, in review, on purpose.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Runs the CLI after putting a finder first on ``sys.meta_path`` that writes each module name
#: the import system looks for to stderr: it sees ``import`` statements and
#: ``importlib.import_module`` alike (``-X importtime`` misses the latter), and each line is out
#: before the process ends, even by ``os._exit``.
_RUN = (
    "import sys\n"
    "class _Seen:\n"
    "    @staticmethod\n"
    "    def find_spec(name, path=None, target=None):\n"
    "        sys.stderr.write('imported: ' + name + '\\n')\n"
    "sys.meta_path.insert(0, _Seen)\n"
    "sys.argv[0] = 'dockyard'\n"
    "from dockyard.cli import main\n"
    "main()\n"
)

#: ``dockyard --help``: the command table, not the commands
HELP = frozenset(
    {
        "dockyard",
        "dockyard.cli",
        "dockyard.cli._failure",
        "dockyard.cli._main",
        "dockyard.errors",
    }
)

#: a rebuild with nothing changed is answered from its no-op record
NOOP_BUILD = frozenset(
    {
        "dockyard",
        "dockyard.builder",
        "dockyard.builder.cache",
        "dockyard.builder.cache.noop",
        "dockyard.cli",
        "dockyard.storefiles",
        "dockyard.storefiles.lookup",
        "dockyard.storefiles.paths",
    }
)

#: ``FROM scratch`` + ``COPY`` after the copied file changed: the frontend, the solver, the
#: copy side of the worker, layers and the local store; no registry, client, scan, sign,
#: analyze, runtime (RUN) or image-transport code; of the instructions only FROM and COPY
#: (not RUN's ``--mount`` parser), and no ``--cache-from``/``--cache-to`` code
CHANGED_BUILD = NOOP_BUILD | frozenset(
    {
        "dockyard.atomicfile",
        "dockyard.builder.cache._lock",
        "dockyard.builder.cache._sqlite",
        "dockyard.builder.cache.checksums",
        "dockyard.builder.cache.records",
        "dockyard.builder.context",
        "dockyard.builder.frontend",
        "dockyard.dockerfile",
        "dockyard.dockerfile._convert",
        "dockyard.dockerfile._gofmt",
        "dockyard.dockerfile._values",
        "dockyard.dockerfile._words",
        "dockyard.dockerfile.chmod",
        "dockyard.builder.frontend.dispatch",
        "dockyard.dockerfile.document",
        "dockyard.dockerfile.dockerignore",
        "dockyard.dockerfile.errors",
        "dockyard.dockerfile.instructions",
        "dockyard.dockerfile.instructions.base",
        "dockyard.dockerfile.instructions.copy",
        "dockyard.dockerfile.instructions.from_",
        "dockyard.dockerfile.parser",
        "dockyard.dockerfile.shell",
        "dockyard.builder.frontend.stages",
        "dockyard.builder.frontend.steps",
        "dockyard.builder.solver",
        "dockyard.builder.solver._build",
        "dockyard.builder.solver._context",
        "dockyard.builder.solver._export",
        "dockyard.builder.solver._images",
        "dockyard.builder.solver._lease",
        "dockyard.builder.solver._options",
        "dockyard.builder.solver._report",
        "dockyard.builder.solver._results",
        "dockyard.builder.solver._secrets",
        "dockyard.builder.solver._solver",
        "dockyard.builder.solver._steps",
        "dockyard.builder.worker",
        "dockyard.builder.worker._chmod",
        "dockyard.builder.worker._copy",
        "dockyard.builder.worker._copy_layer",
        "dockyard.builder.worker._match",
        "dockyard.builder.worker._overlay",
        "dockyard.builder.worker._scope",
        "dockyard.builder.worker._snapshots",
        "dockyard.builder.worker._sources",
        "dockyard.builder.worker._users",
        "dockyard.builder.worker._worker",
        "dockyard.cli._build_run",
        "dockyard.cli._cmd_build",
        "dockyard.cli._failure",
        "dockyard.cli._main",
        "dockyard.content",
        "dockyard.content._reader",
        "dockyard.content._store",
        "dockyard.content._writer",
        "dockyard.digest",
        "dockyard.errors",
        "dockyard.image",
        "dockyard.image._compression_policy",
        "dockyard.image._endpoints",
        "dockyard.image._protocols",
        "dockyard.image.blob",
        "dockyard.image.store",
        "dockyard.layers",
        "dockyard.layers._apply",
        "dockyard.layers._compression",
        "dockyard.layers._create",
        "dockyard.layers._entries",
        "dockyard.layers._overlay_diff",
        "dockyard.layers._plan",
        "dockyard.layers._tar_writer",
        "dockyard.layers._tree_diff",
        "dockyard.layers._write",
        "dockyard.local",
        "dockyard.local._gc",
        "dockyard.local._labels",
        "dockyard.local._layout",
        "dockyard.local._lease",
        "dockyard.local._lock",
        "dockyard.local._paths",
        "dockyard.local._store",
        "dockyard.metadata",
        "dockyard.metadata._db",
        "dockyard.metadata._records",
        "dockyard.metadata._schema",
        "dockyard.metadata._store",
        "dockyard.oci",
        "dockyard.oci._canonical",
        "dockyard.oci._json",
        "dockyard.oci.config",
        "dockyard.oci.descriptor",
        "dockyard.oci.manifest",
        "dockyard.oci.mediatypes",
        "dockyard.oci.platform",
        "dockyard.reference",
    }
)

#: third-party and heavy standard-library packages none of these paths needs
HEAVY = (
    "asyncio",
    "click",
    "concurrent.futures",
    "cryptography",
    "email",
    "http.client",
    "importlib.metadata",
    "logging",
    "rich",
    "sqlalchemy",
    "urllib3",
    "yaml",
    "zstandard",
)

#: what the fast paths also leave out: the no-op answers with file reads and one SQLite query
#: (and no typing: see docs/architecture.md), the plain build command line is read without click
NOT_ON_NOOP = (*HEAVY, "dataclasses", "inspect", "json", "typing")


def _imported(args: list[str], cwd: Path, root: Path) -> set[str]:
    """Every module ``dockyard ARGS`` imported (see ``_RUN``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "PYTHON"))}
    env["DOCKYARD_ROOT"] = str(root)
    run = subprocess.run(
        [sys.executable, "-c", _RUN, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    names = set()
    for line in run.stderr.splitlines():
        if line.startswith("imported: "):
            names.add(line.removeprefix("imported: "))
    assert "dockyard" in names, "no imports seen: the interpreter did not run dockyard"
    return names


def _over(names: set[str], allowed: frozenset[str], heavy: tuple[str, ...]) -> list[str]:
    extra = sorted(n for n in names if n.startswith("dockyard") and n not in allowed)
    return extra + sorted(h for h in heavy if h in names)


def test_help_lists_commands_without_importing_them(tmp_path: Path) -> None:
    names = _imported(["--help"], tmp_path, tmp_path / "store")
    assert _over(names, HELP, tuple(h for h in HEAVY if h != "click")) == []


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """A small context built twice (the second run, all cached, leaves the no-op record)."""
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM scratch\nCOPY a.txt /a.txt\n")
    (context / "a.txt").write_text("one\n")
    root = tmp_path / "store"
    for _ in range(2):
        _imported(BUILD, tmp_path, root)
    return tmp_path, root


BUILD = ["build", "-q", "-t", "budget:1", "ctx"]


def test_noop_build_imports_only_the_noop_check(built: tuple[Path, Path]) -> None:
    cwd, root = built
    names = _imported(BUILD, cwd, root)
    assert _over(names, NOOP_BUILD, NOT_ON_NOOP) == []


def test_changed_file_build_imports_only_the_build_path(built: tuple[Path, Path]) -> None:
    cwd, root = built
    (cwd / "ctx" / "a.txt").write_text("two\n")
    names = _imported(BUILD, cwd, root)
    assert "dockyard.builder.solver._solver" in names  # really a full build, not the no-op
    # the command line is read by click (the no-op path alone is read before it loads)
    assert _over(names, CHANGED_BUILD, tuple(h for h in HEAVY if h != "click")) == []


#: what a ``RUN`` without ``--mount`` leaves out: the ``--mount`` types and their preparation,
#: and ``logging`` (the runtime choice logs only where ``--debug`` set logging up)
NOT_ON_PLAIN_RUN = (
    "dockyard.builder.worker._mounts",
    "dockyard.dockerfile.mounts",
    "logging",
)


@pytest.mark.slow
@pytest.mark.privileged
def test_run_build_without_mounts_loads_no_mount_or_logging_code(tmp_path: Path) -> None:
    from _infra import make_busybox_rootfs, tar_rootfs

    root = tmp_path / "store"
    base = tar_rootfs(make_busybox_rootfs(tmp_path / "rootfs"), tmp_path / "base.tar")
    _imported(["import", str(base), "budget-base:1"], tmp_path, root)
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "FROM budget-base:1\nCOPY a.txt /a.txt\nRUN wc -c /a.txt > /size\n"
    )
    (context / "a.txt").write_text("one\n")
    names = _imported(["build", "-q", "-t", "budget-run:1", "ctx"], tmp_path, root)
    assert "dockyard.builder.worker._run" in names  # really ran the step
    assert sorted(n for n in names if n in NOT_ON_PLAIN_RUN) == []


#: what ``dockyard run --rm IMG true`` leaves out (its image's snapshot made by an earlier run):
#: the builder but for snapshots and the runtime (no solver, frontend or build cache; of the
#: worker no COPY, build RUN, ``--mount`` or ``ADD <url>`` code), the Dockerfile language,
#: ``commit`` (layer writing from a container), the layer tools and their tar and compression
#: modules (an existing snapshot is never unpacked again), the store's image, content, metadata
#: and OCI model code (the tag, manifest and config are read as files, see
#: ``dockyard.container._quick``) and the reference grammar (the tag is normalised by
#: ``dockyard.storefiles.names``), registry, client, scan, sign and analyze code, click and the
#: click commands (the command line is read by ``dockyard.cli._run_argv``), the standard modules
#: the container's ids, names and times no longer need, ``dataclasses`` (the records on the path
#: are named tuples, see docs/architecture.md), ``subprocess`` (the runtime is started with
#: ``os.posix_spawn``), and heavy packages none of it needs
NOT_ON_CONTAINER_RUN = (
    "click",
    "dockyard.analyze",
    "dockyard.builder.cache",
    "dockyard.builder.context",
    "dockyard.builder.frontend",
    "dockyard.builder.solver",
    "dockyard.builder.worker._chmod",
    "dockyard.builder.worker._copy",
    "dockyard.builder.worker._copy_layer",
    "dockyard.builder.worker._fetch",
    "dockyard.builder.worker._match",
    "dockyard.builder.worker._mounts",
    "dockyard.builder.worker._run",
    "dockyard.builder.worker._sources",
    "dockyard.cli._cmd_container",
    "dockyard.cli._main",
    "dockyard.client",
    "dockyard.container.commit",
    "dockyard.digest",
    "dockyard.dockerfile",
    "dockyard.content",
    "dockyard.image",
    "dockyard.layers",
    "dockyard.local",
    "dockyard.metadata",
    "dockyard.oci",
    "dockyard.reference",
    "dockyard.registry",
    "dockyard.scan",
    "dockyard.sign",
    "asyncio",
    "concurrent.futures",
    "cryptography",
    "dataclasses",
    "email",
    "gzip",
    "http.client",
    "httpx",
    "isal",
    "logging",
    "random",
    "rich",
    "secrets",
    "socket",
    "sqlalchemy",
    "subprocess",
    "tarfile",
    "tempfile",
    "urllib3",
    "yaml",
    "zstandard",
)


def _packages(name: str) -> set[str]:
    """``name`` and the packages it is in (``a.b.c`` → ``a``, ``a.b``, ``a.b.c``)."""
    parts = name.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


@pytest.mark.privileged
def test_container_run_loads_only_the_snapshot_and_runtime_code(tmp_path: Path) -> None:
    from _infra import make_busybox_rootfs, tar_rootfs

    root = tmp_path / "store"
    base = tar_rootfs(make_busybox_rootfs(tmp_path / "rootfs"), tmp_path / "base.tar")
    _imported(["import", str(base), "budget-run:1"], tmp_path, root)
    _imported(["run", "--rm", "budget-run:1", "true"], tmp_path, root)  # makes the snapshot
    names = _imported(["run", "--rm", "budget-run:1", "true"], tmp_path, root)
    assert "dockyard.builder.worker.runtime" in names  # really ran a container
    left_out = set(NOT_ON_CONTAINER_RUN)
    assert sorted(n for n in names if left_out & _packages(n)) == []
    assert not any((root / "containers").glob("*/merged"))  # --rm left nothing behind


#: what a copy between two OCI layouts leaves out: the local store and its SQL metadata, the
#: image formats it does not touch (archives, the store's endpoints, blob-backed images) and the
#: layer tools and compressors (see benchmarks/RESULTS.md, the registry client's copy)
NOT_ON_LAYOUT_COPY = (
    "dockyard.image._archive",
    "dockyard.image.archive",
    "dockyard.image.blob",
    "dockyard.image.load",
    "dockyard.image.store",
    "dockyard.layers",
    "dockyard.local",
    "dockyard.metadata",
    "dockyard.storefiles",
    "rich",
    "sqlalchemy",
    "sqlite3",
    "zstandard",
)


def test_layout_copy_imports_only_the_formats_it_uses(built: tuple[Path, Path]) -> None:
    cwd, root = built
    _imported(["copy", "-q", "budget:1", "oci:from:1"], cwd, root)
    names = _imported(["copy", "-q", "oci:from:1", "oci:to:1"], cwd, root)
    assert "dockyard.image.copy" in names and "dockyard.image.layout" in names  # really copied
    assert (cwd / "to" / "index.json").is_file()
    assert sorted(n for n in names if n.startswith(NOT_ON_LAYOUT_COPY)) == []


#: record classes (``@dataclass``) the ``dockyard.builder`` modules of that path define; each
#: costs start-up time as it is created, so the path defines those it uses (and their bases)
CHANGED_BUILD_RECORDS = 34


def _records(modules: set[str]) -> list[str]:
    """The dataclasses ``modules`` define, counted in a fresh interpreter."""
    code = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    module = importlib.import_module(name)\n"
        "    for key, value in vars(module).items():\n"
        "        if (isinstance(value, type) and value.__module__ == name\n"
        "                and '__dataclass_fields__' in value.__dict__):\n"
        "            print(f'{name}.{key}')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, *sorted(modules)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout.split()


def test_changed_file_build_defines_only_the_records_it_uses(built: tuple[Path, Path]) -> None:
    cwd, root = built
    (cwd / "ctx" / "a.txt").write_text("three\n")
    names = _imported(BUILD, cwd, root)
    records = _records(
        {n for n in names if n.startswith(("dockyard.builder", "dockyard.dockerfile"))}
    )
    assert any(r.endswith(".CopyInstruction") for r in records)  # really counted
    assert len(records) <= CHANGED_BUILD_RECORDS, "\n".join(records)


def test_help_lines_in_the_command_table_are_the_commands_own() -> None:
    """The table's line for each command is the one the command would show itself (so
    ``--help`` reads the same as when every command is loaded)."""
    import click

    from dockyard.cli._main import COMMANDS, cli, register_commands

    register_commands()
    for name, (_, line) in COMMANDS.items():
        command = cli.commands[name]
        assert line == command.get_short_help_str(limit=10_000), (
            f"cli/_main.py COMMANDS has a stale help line for {name!r}"
        )
        assert click.Command(name, help=line).get_short_help_str(45) == (
            command.get_short_help_str(45)
        )
