from __future__ import annotations

from collections.abc import Iterator

import pytest

from _infra.redis_server import RedisServer, started_redis


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    with started_redis() as server:
        yield server
