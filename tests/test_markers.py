"""The markers select what they promise: ``-m "not docker"`` (``make check``) starts no dockerd."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from _infra import run_command

# Collects the suite with -m, and prints the node ids of the selected tests that use ``dockerd``
# (directly or through other fixtures).
_PROBE = """
import json, sys
import pytest

class Probe:
    found: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        Probe.found = [
            item.nodeid for item in session.items if "dockerd" in getattr(item, "fixturenames", ())
        ]

code = pytest.main(
    ["--collect-only", "-q", "-p", "no:cacheprovider", "-m", sys.argv[1]], plugins=[Probe()]
)
print("PROBE" + json.dumps({"code": int(code), "found": Probe.found}))
"""


def _dockerd_users(selection: str) -> list[str]:
    repo = Path(__file__).resolve().parent.parent
    done = run_command([sys.executable, "-c", _PROBE, selection], cwd=repo, timeout=300)
    line = next(x for x in done.stdout.splitlines() if x.startswith("PROBE"))
    result = json.loads(line.removeprefix("PROBE"))
    assert result["code"] in (0, 5), done.stdout[-2000:]
    found: list[str] = result["found"]
    return found


@pytest.mark.slow
def test_not_docker_selects_no_test_that_uses_dockerd() -> None:
    """A test that asks for ``dockerd`` (or for a fixture built on it, such as ``busybox_image``)
    is a ``docker`` test even without ``@pytest.mark.docker``: the quick selection leaves it out,
    and ``-m docker`` picks it up."""
    assert _dockerd_users("not docker") == []
    assert len(_dockerd_users("docker")) > 0
