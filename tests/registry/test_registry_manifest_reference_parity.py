"""References that cannot exist, answered as distribution (Debian's docker-registry 2.8) answers
them: the same status for GET, HEAD and DELETE, side by side with a real docker-registry."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from _infra import docker_registry
from _infra.registry_server import start_registry

#: a leading '.' or '-', 129 characters, a character no tag has
IMPOSSIBLE_TAGS = ("-bad", ".bad", "a" * 129, "b!d")


def _statuses(base: str, repository: str) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    with httpx.Client(base_url=base, timeout=10) as http:
        for tag in IMPOSSIBLE_TAGS:
            for method in ("GET", "HEAD", "DELETE"):
                r = http.request(method, f"/v2/{repository}/manifests/{tag}")
                out[(method, tag)] = r.status_code
    return out


@pytest.mark.slow
def test_impossible_tags_answer_as_distribution_does(tmp_path: Path) -> None:
    with docker_registry(tmp_path / "distribution") as theirs:
        expected = _statuses(theirs.url, "app")
    assert set(expected.values()) == {404}, expected  # what distribution 2.8.2 answers
    with start_registry(tmp_path / "dockyard", "--delete") as ours:
        assert _statuses(ours.url, "app") == expected
        r = httpx.get(f"{ours.url}/v2/app/manifests/-bad")
        assert r.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
