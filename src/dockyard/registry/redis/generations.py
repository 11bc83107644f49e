"""Change counters in Redis: what :class:`~dockyard.registry._shared.SharedGenerations` does
with a memory-mapped file for processes on one machine, for replicas on several.

A write bumps its repository's counter (``INCR``) after its transaction committed; a cached
read compares the counter (one ``MGET`` round trip) with the value it was cached under. Two
things could make a replica trust a stale entry, and both are closed:

- **Redis restarted empty** (or was flushed): counters start again at 0 and could meet values
  seen before. Every counter is read together with an *epoch* (a random number stored once in
  Redis); a lost epoch is replaced by a new one, so every value read afterwards differs from
  every value read before.
- **A bump that failed** (Redis unreachable after the database committed): the write is done
  and the other replicas must still drop what they cached. The epoch is renewed as soon as
  Redis answers again (a background thread tries every ``retry`` seconds), which drops every
  replica's cache at once; until then the failure is logged.

While Redis does not answer, every read is treated as changed (each call returns a value no
other call returns), so replicas serve from the database — slower, never stale. After a
failure Redis is left alone for ``retry`` seconds (a Redis whose machine is gone costs a
connect timeout per try, not per request). An outage is logged once
(:class:`~dockyard.registry._outages.Outage`), and once more when it ends.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import secrets
import threading
import time

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from dockyard.registry._outages import Outage

__all__ = ["RedisGenerations"]

_log = logging.getLogger("dockyard.registry.redis")


class RedisGenerations:
    """``get``/``bump`` per repository, shared by every replica using one Redis."""

    def __init__(self, client: redis.Redis, prefix: str = "dockyard:", retry: float = 0.5) -> None:
        self.client = client
        self.prefix = prefix
        self.retry = retry
        self._epoch_key = f"{prefix}generations:epoch"
        self._unknown = itertools.count(-1, -1)
        self._lock = threading.Lock()
        self._renew_needed = False
        self._retrying: threading.Thread | None = None
        self._closed = threading.Event()
        #: bumps that could not reach Redis (for tests and metrics)
        self.failed_bumps = 0
        #: after a failure, Redis is not asked again before this (``time.monotonic()``)
        self._quiet_until = 0.0
        kwargs = client.connection_pool.connection_kwargs
        where = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}"
        #: Redis as this process sees it: one log line per outage
        self.outage = Outage(
            f"Redis at {where}",
            "check redis.addr and that Redis runs there",
            effect="manifests and tags are served from the database, uncached, until it does",
        )

    def _key(self, repository: str) -> str:
        return f"{self.prefix}generations:repo:{repository}"

    def get(self, repository: str) -> int:
        """``repository``'s counter combined with the epoch; while Redis is unreachable (or a
        failed bump is not yet made good), a value no other call returns."""
        if self._renew_needed or time.monotonic() < self._quiet_until:
            return next(self._unknown)
        try:
            epoch, count = self.client.mget(self._epoch_key, self._key(repository))
        except RedisError as exc:
            self._quiet_until = time.monotonic() + self.retry
            self.outage.failed(exc)
            return next(self._unknown)
        self.outage.succeeded()
        if epoch is None:
            self._new_epoch()
            return next(self._unknown)
        return (int(epoch) << 64) | int(count or 0)

    def bump(self, repository: str) -> None:
        """Tell every replica that ``repository`` changed (call after the change committed)."""
        try:
            if time.monotonic() < self._quiet_until:
                raise RedisConnectionError("Redis failed a moment ago; not asked again yet")
            self.client.incr(self._key(repository))
        except RedisError as exc:
            self._quiet_until = max(self._quiet_until, time.monotonic() + self.retry)
            self.failed_bumps += 1
            self.outage.failed(exc)
            if not self._renew_needed:  # the first lost change of an outage, not every one
                _log.warning(
                    "redis: cannot tell the other replicas that %s changed; their caches are "
                    "dropped as soon as Redis answers again",
                    repository,
                )
            self._start_renewal()

    def _new_epoch(self) -> None:
        with contextlib.suppress(RedisError):  # then the next read tries again
            self.client.set(self._epoch_key, secrets.randbits(62), nx=True)

    def _start_renewal(self) -> None:
        with self._lock:
            self._renew_needed = True
            if self._retrying is not None and self._retrying.is_alive():
                return
            self._retrying = threading.Thread(
                target=self._renew, name="redis-generations", daemon=True
            )
            self._retrying.start()

    def _renew(self) -> None:
        while not self._closed.is_set():
            try:
                self.client.set(self._epoch_key, secrets.randbits(62))
            except RedisError:
                self._closed.wait(self.retry)
                continue
            with self._lock:
                self._renew_needed = False
                self._quiet_until = 0.0
            self.outage.succeeded("every replica's cache was dropped")
            return

    def close(self) -> None:
        self._closed.set()
        retrying = self._retrying
        if retrying is not None:  # it may be waiting on Redis: at most a timeout
            retrying.join(timeout=10)
        self.client.close()
        self.client.connection_pool.disconnect()  # a pool given to the client stays open
