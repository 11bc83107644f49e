"""The cluster tests' shared servers: one PostgreSQL, SeaweedFS and Redis per test session
(each cluster gets its own database, bucket and Redis database on them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.cluster import Backends, cluster_backends


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    with cluster_backends(tmp_path_factory.mktemp("cluster-backends")) as started:
        yield started
