"""Test modules are named ``tests/<area>/test_<area>_<topic>.py``.

The area is the folder the module sits in (``tests/registry/storage/test_storage_s3_driver.py``,
``tests/cli/test_cli_scan.py``), so a module's name says where it belongs wherever it is seen (a
failure line, ``-k``, the Makefile's lists). Modules directly in ``tests/`` check the whole
project (layering, markers, the import budget) and are ``tests/test_<topic>.py``. ``WORDS``
gives an area a different word where the house uses one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

#: area folder → the word its modules use instead of the folder's name, and why
WORDS: dict[str, tuple[str, str]] = {
    "builder": ("build", "the builder's modules are named for `dockyard build`, which they drive"),
}


def well_named(relative: Path) -> bool:
    """Whether ``relative`` (a path under ``tests/``) follows the rule."""
    if len(relative.parts) == 1:
        return relative.name.startswith("test_")
    area = relative.parent.name
    word = WORDS.get(area, (area, ""))[0]
    return relative.name.startswith(f"test_{word}_") and relative.stem != f"test_{word}_"


def _modules() -> list[Path]:
    return sorted(
        p.relative_to(TESTS)
        for p in TESTS.rglob("test_*.py")
        if "__pycache__" not in p.parts and not p.relative_to(TESTS).parts[0].startswith("_")
    )


def test_test_modules_are_named_for_their_area() -> None:
    bad = [str(p) for p in _modules() if not well_named(p)]
    assert bad == [], "name these tests/<area>/test_<area>_<topic>.py:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("registry/storage/test_storage_s3_driver.py", True),
        ("registry/test_registry_gc.py", True),
        ("builder/test_build_cache.py", True),
        ("builder/worker/test_worker_cgroups.py", True),
        ("test_layering.py", True),
        ("registry/storage/test_s3_driver.py", False),
        ("registry/test_outages.py", False),
        ("registry/migrations/test_migrations.py", False),
        ("builder/test_builder_cache.py", False),
        ("cli/test_cli_.py", False),
    ],
)
def test_well_named_reads_the_rule(path: str, ok: bool) -> None:
    assert well_named(Path(path)) is ok
