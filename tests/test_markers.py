"""What the suite collects, and what its markers select: ``make test`` runs every
``tests/**/test_*.py``, and ``-m "not docker"`` (``make check``) starts no dockerd.

One collection of the whole suite (in a subprocess, with ``-m "not docker"``) answers both: the
selected tests plus the deselected ones are everything collected."""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from _infra import run_command

# Collects the suite with -m, and prints every selected and deselected node id, each with
# whether it uses ``dockerd`` (directly or through other fixtures).
_PROBE = """
import json, sys
import pytest

def _entry(item):
    return [item.nodeid, "dockerd" in getattr(item, "fixturenames", ())]

class Probe:
    selected: list = []
    deselected: list = []

    def pytest_deselected(self, items) -> None:
        Probe.deselected.extend(_entry(i) for i in items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        Probe.selected = [_entry(i) for i in session.items]

code = pytest.main(
    ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", sys.argv[1]], plugins=[Probe()]
)
print("PROBE" + json.dumps({"code": int(code), "selected": Probe.selected,
                            "deselected": Probe.deselected}))
"""

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


@dataclass(frozen=True)
class Collected:
    #: node id → whether the test uses dockerd
    selected: dict[str, bool]
    deselected: dict[str, bool]


@functools.cache
def _collect(selection: str) -> Collected:
    done = run_command([sys.executable, "-c", _PROBE, selection], cwd=REPO, timeout=300)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE"))
    result = json.loads(line.removeprefix("PROBE"))
    assert result["code"] in (0, 5), done.stdout[-2000:]
    return Collected(dict(result["selected"]), dict(result["deselected"]))


@pytest.mark.slow
def test_not_docker_selects_no_test_that_uses_dockerd() -> None:
    """A test that asks for ``dockerd`` (or for a fixture built on it, such as ``busybox_image``)
    is a ``docker`` test even without ``@pytest.mark.docker``: the quick selection leaves it out
    (so ``-m docker`` picks it up)."""
    collected = _collect("not docker")
    assert [node for node, uses in collected.selected.items() if uses] == []
    assert any(collected.deselected.values())


@pytest.mark.slow
def test_the_suite_collects_every_test_file() -> None:
    """``make test`` runs every tests/**/test_*.py: no directory is skipped by a collection rule
    (pytest's default norecursedirs once left out tests/builder, the whole builder)."""
    wanted = {
        str(p.relative_to(REPO))
        for p in TESTS.rglob("test_*.py")
        if not any(part.startswith(".") for part in p.relative_to(TESTS).parts)
    }
    collected = _collect("not docker")
    files = {node.split("::", 1)[0] for node in (*collected.selected, *collected.deselected)}
    assert wanted - files == set()
