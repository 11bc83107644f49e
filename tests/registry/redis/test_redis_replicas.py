"""Two ``dockyard registry serve`` replicas whose only shared cache state is a real Redis (no
change-counter file): a tag moved through one is served moved by the other at once, also
while Redis is down (from the database) and after it came back empty."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from _infra.redis_server import PASSWORD, RedisServer
from _infra.registry_server import RegistryProcess, push_image, start_registry
from dockyard.registry._registry import SHARED_GENERATIONS

pytestmark = pytest.mark.slow

ACCEPT = {"accept": "application/vnd.oci.image.manifest.v1+json"}


@pytest.fixture(scope="module")
def replicas(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RegistryProcess, RegistryProcess]]:
    root = tmp_path_factory.mktemp("replicas") / "data"
    env = {"REGISTRY_REDIS_ADDR": redis_server.addr, "REGISTRY_REDIS_PASSWORD": PASSWORD,
           "REGISTRY_REDIS_DIALTIMEOUT": "200ms", "REGISTRY_REDIS_READTIMEOUT": "500ms"}  # fmt: skip
    with start_registry(root, env=env) as a, start_registry(root, env=env) as b:
        yield a, b


def _digest(client: httpx.Client, name: str) -> str:
    r = client.get(f"/v2/{name}/manifests/latest", headers=ACCEPT)
    assert r.status_code == 200, r.text
    return r.headers["docker-content-digest"]


def test_a_tag_moved_on_one_replica_is_moved_on_the_other(
    replicas: tuple[RegistryProcess, RegistryProcess], redis_server: RedisServer
) -> None:
    a, b = replicas
    with httpx.Client(base_url=a.url) as to_a, httpx.Client(base_url=b.url) as to_b:
        first = push_image(to_a, "team/app", seed="one").digest
        assert _digest(to_b, "team/app") == first
        assert _digest(to_b, "team/app") == first  # now from b's cache
        second = push_image(to_a, "team/app", seed="two").digest
        assert _digest(to_b, "team/app") == second
        assert not (a.root / SHARED_GENERATIONS).exists()  # coherent through Redis alone

        redis_server.stop()
        try:
            third = push_image(to_a, "team/app", seed="three").digest
            assert _digest(to_b, "team/app") == third  # from the database, not b's cache
            assert _digest(to_b, "team/app") == third
        finally:
            redis_server.start()  # empty: counters and epoch are gone
        fourth = push_image(to_a, "team/app", seed="four").digest
        for _ in range(3):
            assert _digest(to_b, "team/app") == fourth
    assert "cannot tell the other replicas that team/app changed" in a.log.read_text()
