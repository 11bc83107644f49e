"""Redis for several registry replicas: registry:2's ``redis:`` section (here), a client for it
(:mod:`.client`), and the change counters that keep each replica's cache of manifests and tags
coherent with every other's (:mod:`.generations`). Only the config is loaded with the package:
redis-py loads when a registry is configured to use it."""

from dockyard.registry.redis._config import REDIS_SCHEMA, RedisConfig, redis_from_section

__all__ = ["REDIS_SCHEMA", "RedisConfig", "redis_from_section"]
