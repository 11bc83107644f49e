"""One projects-mode registry (and store, keys) for the CI tests of a worker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.ci_pipeline import CiSetup, ci_setup


@pytest.fixture(scope="session")
def ci(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CiSetup]:
    with ci_setup(tmp_path_factory.mktemp("ci")) as setup:
        yield setup
