"""``make test`` keeps what CI should keep of a run: both passes get ``DOCKYARD_TEST_ARTIFACTS``
(the browser tests' screenshots go there), a directory in the checkout that git ignores."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: the prerequisites ``make -n`` would otherwise plan (installing, starting dockerd)
PREREQUISITES = ("install", "system-deps", "docker-host", "binfmt", "js-deps")


def _planned(*variables: str) -> list[str]:
    """The artifact directory of each pytest run ``make test`` would start."""
    skip = [arg for target in PREREQUISITES for arg in ("-o", target)]
    plan = subprocess.run(
        ["make", "-n", "-s", "-C", str(ROOT), *skip, "test", *variables],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    runs = [run for run in plan.replace("\\\n", " ").splitlines() if "-m pytest" in run]
    assert len(runs) == 2, plan  # the filesystem pass and the cluster pass
    found = [re.search(r"\bDOCKYARD_TEST_ARTIFACTS=(\S+)", run) for run in runs]
    assert all(found), runs
    return [m.group(1) for m in found if m]


def test_make_test_keeps_screenshots_in_an_ignored_directory() -> None:
    first, cluster = _planned()
    assert Path(first) == ROOT / "test-artifacts"
    assert Path(cluster) == ROOT / "test-artifacts" / "cluster"
    ignored = subprocess.run(
        ["git", "-C", str(ROOT), "check-ignore", "-q", "test-artifacts/console-screenshots/x.png"]
    )
    assert ignored.returncode == 0, "git does not ignore test-artifacts/"


def test_the_directory_can_be_chosen() -> None:
    assert _planned("TEST_ARTIFACTS=/srv/ci/artifacts") == [
        "/srv/ci/artifacts",
        "/srv/ci/artifacts/cluster",
    ]
