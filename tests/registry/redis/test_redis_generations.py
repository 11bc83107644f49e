"""Change counters in a real Redis: a bump in one replica is seen by every other; while Redis
is down every read counts as changed (served from the database, never stale); a bump that
failed during the outage, or a Redis that came back empty, still drops every cached read."""

from __future__ import annotations

import time

from _infra._registry import free_port
from _infra.redis_server import PASSWORD, RedisServer
from dockyard.registry.redis import RedisConfig
from dockyard.registry.redis.client import connect
from dockyard.registry.redis.generations import RedisGenerations


def _replica(server: RedisServer, prefix: str) -> RedisGenerations:
    config = RedisConfig("127.0.0.1", server.port, password=PASSWORD, dial_timeout=0.5,
                         read_timeout=0.5, write_timeout=0.5)  # fmt: skip
    return RedisGenerations(connect(config), prefix, retry=0.05)


def _wait(what: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not within 10 s"
        time.sleep(0.02)


def test_a_bump_in_one_replica_is_seen_by_the_others(redis_server: RedisServer) -> None:
    a, b = _replica(redis_server, "t1:"), _replica(redis_server, "t1:")
    a.get("lib/app")  # the first read stores an epoch
    before = b.get("lib/app")
    assert before == a.get("lib/app") >= 0
    assert b.get("lib/other") == b.get("lib/other")
    a.bump("lib/app")
    assert b.get("lib/app") != before
    assert b.get("lib/app") == a.get("lib/app")
    a.close()
    b.close()


def test_an_outage_never_lets_a_stale_read_through(redis_server: RedisServer) -> None:
    a, b = _replica(redis_server, "t2:"), _replica(redis_server, "t2:")
    a.get("lib/app")
    seen_by_b = b.get("lib/app")
    redis_server.stop()
    try:
        down = [b.get("lib/app") for _ in range(3)]
        assert len(set(down)) == 3 and seen_by_b not in down  # every read: "changed"
        a.bump("lib/app")  # the database committed; Redis cannot be told
        assert a.failed_bumps == 1
        assert a.get("lib/app") != a.get("lib/app")  # a's own reads wait for the renewal
    finally:
        redis_server.start()  # an empty Redis: counters and epoch are gone
    _wait(lambda: a.get("lib/app") >= 0)  # the renewed epoch
    after = b.get("lib/app")
    assert after >= 0 and after != seen_by_b  # b drops what it cached before the outage
    assert after == a.get("lib/app")
    a.close()
    b.close()


def test_a_failed_bump_drops_every_replica_cache_when_redis_answers(
    redis_server: RedisServer,
) -> None:
    """Redis kept its data but one replica could not reach it for a bump: when it can again,
    it renews the epoch, so the others stop trusting what they cached."""
    a, b = _replica(redis_server, "t3:"), _replica(redis_server, "t3:")
    a.get("lib/app")
    seen_by_b = b.get("lib/app")
    reachable = a.client
    a.client = connect(RedisConfig("127.0.0.1", free_port(), dial_timeout=0.2))  # a alone loses it
    a.bump("lib/app")
    assert b.get("lib/app") == seen_by_b  # nothing told b yet
    a.client = reachable
    _wait(lambda: b.get("lib/app") != seen_by_b)
    assert a.get("lib/app") == b.get("lib/app")
    a.close()
    b.close()
