"""A redis-py client for a :class:`RedisConfig`: a bounded, blocking connection pool (a
request waits up to the read timeout for a free connection instead of opening more)."""

from __future__ import annotations

from typing import Any

import redis

from dockyard.registry.redis._config import RedisConfig

__all__ = ["connect"]


def connect(config: RedisConfig) -> redis.Redis:
    """A client for ``config`` (connections are opened lazily, on first use)."""
    kwargs: dict[str, Any] = {
        "host": config.host,
        "port": config.port,
        "db": config.db,
        "username": config.username,
        "password": config.password,
        "socket_connect_timeout": config.dial_timeout,
        "socket_timeout": max(config.read_timeout, config.write_timeout),
        "max_connections": config.max_connections,
        "timeout": config.read_timeout,
    }
    if config.tls:
        kwargs["connection_class"] = redis.SSLConnection
        kwargs["ssl_cert_reqs"] = "required"
        if config.certificate is not None and config.key is not None:
            kwargs["ssl_certfile"] = str(config.certificate)
            kwargs["ssl_keyfile"] = str(config.key)
        if config.client_cas:
            kwargs["ssl_ca_data"] = "\n".join(p.read_text() for p in config.client_cas)
    pool = redis.BlockingConnectionPool(**kwargs)  # type: ignore[no-untyped-call]
    return redis.Redis(connection_pool=pool)
