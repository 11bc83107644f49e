"""One SeaweedFS (a real S3-compatible store) for every storage test of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.seaweed import Seaweed, run_seaweed


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    with run_seaweed(tmp_path_factory.mktemp("seaweed")) as server:
        yield server
