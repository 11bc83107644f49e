"""Packages meet at their public surfaces, and dependencies point down the layers.

Every module under ``src/dockyard`` is parsed (never imported) and each of its imports checked:

- no module imports an underscore module or name of another top-level package
  (``dockyard.scan._budget`` from ``registry/``): what a package shares, its ``__init__`` or a
  public module exports;
- no module imports a package drawn above its own in ``docs/architecture.md``'s layer diagram
  (``oci/`` importing ``registry/``); the diagram is read from the page itself, so the page and
  the code cannot drift apart;
- no module defines a module-level ``__getattr__`` or ``__dir__`` (PEP 562): a package either
  imports its names eagerly or leaves them to public modules its callers import; what a path
  loads is plain to read, and ``tests/test_import_budget.py`` holds the fast paths to it.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "dockyard"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

#: Small modules every layer may use; they import nothing of dockyard but ``errors``.
FOUNDATION = frozenset({"atomicfile", "progress"})

#: Cross-package private imports not fixed yet: (importing module, private module) patterns
#: (``fnmatch``) → why. Each pattern must still match something (a fixed one is removed).
ALLOWED_PRIVATE: dict[tuple[str, str], str] = {}


def allowed(importer: str, target: str) -> bool:
    return any(fnmatch(importer, a) and fnmatch(target, b) for a, b in ALLOWED_PRIVATE)


@dataclass(frozen=True, slots=True)
class Import:
    """One imported dotted name, as written in one module."""

    importer: str  # the importing module, e.g. dockyard.cli._cmd_scan
    target: str  # the imported module or name, e.g. dockyard.scan._report.Report
    line: int


def module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(source: str, module: str, is_package: bool) -> Iterator[Import]:
    """Every ``dockyard`` name ``source`` imports (relative imports resolved), type-only
    imports and imports inside functions included."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:
                yield Import(module, f"{origin}.{alias.name}", node.lineno)


def _top(name: str) -> str:
    """The top-level package (or module) of a dockyard name: ``dockyard.scan._x`` → ``scan``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else ""


def private_target(imp: Import) -> str | None:
    """The underscore module or name of another top-level package ``imp`` reaches, if any."""
    parts = imp.target.split(".")
    if parts[0] != "dockyard":
        return None
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            if i == 1:  # dockyard._x: the root package's own helpers, for every package
                return None
            owner = ".".join(parts[:i])
            if _top(imp.importer) == _top(owner):
                return None
            return ".".join(parts[: i + 1])
    return None


def layer_tiers(text: str) -> dict[str, int]:
    """The layer diagram of ``docs/architecture.md``: each package or module drawn in it →
    its tier, 0 for the top (``cli/``). Tiers are separated by lines holding only ``│``."""
    match = re.search(r"## Layers\n.*?```\n(.*?)```", text, re.DOTALL)
    assert match, "docs/architecture.md has no ## Layers diagram"
    tiers: dict[str, int] = {}
    tier = 0
    for line in match.group(1).splitlines():
        if line.strip() == "│":
            tier += 1
            continue
        for name in re.findall(r"(?:^|[\s─])([a-z0-9_]+)(?:/|\.py)(?=\s|$)", line):
            tiers.setdefault(name, tier)
    return tiers


def upward(imp: Import, tiers: dict[str, int]) -> bool:
    """Whether ``imp`` imports a package drawn above the importer's own."""
    if not imp.target.startswith("dockyard."):
        return False
    mine, theirs = _top(imp.importer), _top(imp.target)
    if mine == theirs or theirs in FOUNDATION or theirs.startswith("__") or not theirs:
        return False
    if theirs not in tiers or mine not in tiers:  # the root package; foundation modules
        return False
    return tiers[theirs] < tiers[mine]


def _all_imports() -> list[Import]:
    found: list[Import] = []
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        found.extend(imports(path.read_text(), module, path.name == "__init__.py"))
    return found


@pytest.fixture(scope="module")
def all_imports() -> list[Import]:
    return _all_imports()


@pytest.fixture(scope="module")
def tiers() -> dict[str, int]:
    return layer_tiers(ARCHITECTURE.read_text())


def test_packages_import_no_private_module_of_another(all_imports: list[Import]) -> None:
    bad = sorted(
        f"{imp.importer}:{imp.line} imports {target}"
        for imp in all_imports
        if (target := private_target(imp)) and not allowed(imp.importer, target)
    )
    assert bad == [], "export these from the package's __init__ (or a public module):\n" + (
        "\n".join(bad)
    )


def test_allowed_private_imports_are_still_there(all_imports: list[Import]) -> None:
    seen = [(imp.importer, t) for imp in all_imports if (t := private_target(imp))]
    stale = sorted(
        f"{a} -> {b}"
        for a, b in ALLOWED_PRIVATE
        if not any(fnmatch(importer, a) and fnmatch(target, b) for importer, target in seen)
    )
    assert stale == [], "fixed: remove from ALLOWED_PRIVATE:\n" + "\n".join(stale)


def test_every_package_is_drawn_in_the_layer_diagram(tiers: dict[str, int]) -> None:
    names = {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in SRC.iterdir() if (p / "__init__.py").is_file()}
    missing = sorted(names - set(tiers) - FOUNDATION)
    assert missing == [], f"draw these in docs/architecture.md's ## Layers diagram: {missing}"
    assert tiers["cli"] < tiers["registry"] < tiers["image"] < tiers["content"] < tiers["oci"]


def test_no_module_imports_a_layer_above_its_own(
    all_imports: list[Import], tiers: dict[str, int]
) -> None:
    bad = sorted(
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in all_imports
        if upward(imp, tiers)
    )
    assert bad == [], "dependencies point down the layers of docs/architecture.md:\n" + (
        "\n".join(bad)
    )


def module_getattrs(source: str) -> list[int]:
    """Lines where ``source`` defines a module-level ``__getattr__`` or ``__dir__`` (by ``def``,
    assignment or import), the hooks of names loaded on first use."""
    hooks = {"__getattr__", "__dir__"}
    lines: list[int] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = {node.name}
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = {a.asname or a.name for a in node.names}
        else:
            continue
        if names & hooks:
            lines.append(node.lineno)
    return lines


def test_no_module_loads_its_names_on_first_use() -> None:
    bad = [
        f"{module_name(path)}:{line}"
        for path in sorted(SRC.rglob("*.py"))
        for line in module_getattrs(path.read_text())
    ]
    assert bad == [], (
        "import the package's names eagerly, or give them public modules that callers "
        "import (tests/test_import_budget.py holds what the fast paths may load):\n"
        + "\n".join(bad)
    )


@pytest.mark.parametrize(
    ("source", "lines"),
    [
        ("def __getattr__(name):\n    raise AttributeError(name)\n", [1]),
        ("x = 1\n__getattr__, __dir__ = make(__name__)\n", [2]),
        ("from helpers import lazy as __getattr__\n", [1]),
        ("class A:\n    def __getattr__(self, name):\n        return name\n", []),
        ("def f():\n    def __getattr__(name):\n        return name\n", []),
        ("from helpers import load\n__all__ = ['load']\n", []),
    ],
)
def test_module_getattrs_finds_the_hooks(source: str, lines: list[int]) -> None:
    assert module_getattrs(source) == lines


def test_foundation_modules_import_only_errors(all_imports: list[Import]) -> None:
    bad = sorted(
        f"{imp.importer}:{imp.line} imports {imp.target}"
        for imp in all_imports
        if _top(imp.importer) in FOUNDATION
        and imp.target.startswith("dockyard.")
        and _top(imp.target) not in {"errors", _top(imp.importer)}
    )
    assert bad == []


# The checks themselves, on small made-up modules: each must catch what it is for.

DIAGRAM = """## Layers

```
cli/                 thin
  │
  ├── registry/      the server (HTTP, I/O)
  └── sign/          keys
        │
content/   metadata/ blobs
        │
oci/  digest.py      data model; no I/O
errors.py            one hierarchy
```
"""


def test_layer_tiers_reads_the_diagram() -> None:
    assert layer_tiers(DIAGRAM) == {
        "cli": 0,
        "registry": 1,
        "sign": 1,
        "content": 2,
        "metadata": 2,
        "oci": 3,
        "digest": 3,
        "errors": 3,
    }


@pytest.mark.parametrize(
    ("module", "is_package", "source", "private"),
    [
        ("dockyard.sign._a", False, "from dockyard.oci._json import dumps", "dockyard.oci._json"),
        ("dockyard.cli._c", False, "from dockyard.scan import _feeds", "dockyard.scan._feeds"),
        ("dockyard.cli._c", False, "import dockyard.scan._report", "dockyard.scan._report"),
        ("dockyard.sign._a", False, "from ..oci._json import dumps", "dockyard.oci._json"),
        ("dockyard.sign", True, "from ..oci import _helper", "dockyard.oci._helper"),
        ("dockyard.sign._a", False, "from dockyard.sign._keys import Key", None),
        ("dockyard.registry.x._a", False, "from dockyard.registry._gc import gc", None),
        ("dockyard.sign._a", False, "from dockyard.oci import Manifest", None),
        ("dockyard.sign._a", False, "from dockyard._version import VERSION", None),
        ("dockyard.sign._a", False, "from dockyard import __version__", None),
        ("dockyard.sign._a", False, "from json import _default_decoder", None),
    ],
)
def test_private_target_finds_cross_package_underscore_imports(
    module: str, is_package: bool, source: str, private: str | None
) -> None:
    found = [private_target(imp) for imp in imports(source, module, is_package)]
    assert found == [private]


@pytest.mark.parametrize(
    ("module", "source", "climbs"),
    [
        ("dockyard.oci.manifest", "from dockyard.registry import Registry", True),
        ("dockyard.content._store", "from dockyard.cli._main import cli", True),
        ("dockyard.oci.manifest", "import dockyard.sign", True),
        ("dockyard.cli._x", "from dockyard.registry import Registry", False),
        ("dockyard.registry._x", "from dockyard.sign import verify", False),
        ("dockyard.registry._x", "from dockyard.progress import Progress", False),
        ("dockyard.oci.manifest", "from dockyard.errors import ManifestInvalid", False),
    ],
)
def test_upward_finds_imports_that_climb(module: str, source: str, climbs: bool) -> None:
    tiers = layer_tiers(DIAGRAM)
    found = [upward(imp, tiers) for imp in imports(source, module, is_package=False)]
    assert found == [climbs]
