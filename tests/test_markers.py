"""What the suite collects, and what its markers select: ``make test`` runs every
``tests/**/test_*.py``, ``-m "not docker"`` (``make check``) starts no dockerd, and
``-m "not slow"`` no PostgreSQL and no per-test registry process.

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
# whether it uses ``dockerd`` (directly or through other fixtures), whether it starts a server
# (a server fixture, or a ``postgresql`` part in its parameter id) and whether it is slow.
_PROBE = """
import json, sys
import pytest

SERVERS = {"registry_server", "postgres", "postgres_url"}

def _entry(item):
    names = set(getattr(item, "fixturenames", ()))
    ids = item.nodeid.partition("[")[2].rstrip("]").split("-")
    return [item.nodeid, {"dockerd": "dockerd" in names,
                          "server": bool(names & SERVERS) or "postgresql" in ids,
                          "slow": item.get_closest_marker("slow") is not None}]

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
    #: node id → {"dockerd": uses dockerd, "server": starts a server, "slow": marked slow}
    selected: dict[str, dict[str, bool]]
    deselected: dict[str, dict[str, bool]]


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
    assert [node for node, facts in collected.selected.items() if facts["dockerd"]] == []
    assert any(facts["dockerd"] for facts in collected.deselected.values())


@pytest.mark.slow
def test_a_test_that_starts_a_server_is_slow() -> None:
    """A test that takes a per-test registry process (``registry_server``) or PostgreSQL (its
    fixtures, or the ``postgresql`` case of an engine parameter) is ``slow``, marked or not, so
    ``make check`` leaves it out; the SQLite cases of the same tests stay in."""
    collected = _collect("not docker")
    everything = {**collected.selected, **collected.deselected}
    servers = [node for node, facts in everything.items() if facts["server"]]
    assert any("postgresql]" in node for node in servers)  # engine-parametrised cases
    assert any("postgresql" not in node for node in servers)  # registry_server, postgres
    assert [node for node in servers if not everything[node]["slow"]] == []
    sqlite_twins = [
        node.replace("postgresql", "sqlite")
        for node in servers
        if node.replace("postgresql", "sqlite") in collected.selected
    ]
    assert any(not everything[node]["slow"] for node in sqlite_twins)


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
