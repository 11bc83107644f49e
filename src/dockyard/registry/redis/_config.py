"""registry:2's ``redis:`` section, checked strictly (it holds a password and TLS settings: an
unknown or misspelt key stops start-up instead of being ignored).

distribution 2.8's keys: ``addr``, ``password``, ``db``, ``dialtimeout``, ``readtimeout``,
``writetimeout``, ``pool: {maxidle, maxactive, idletimeout}``, ``tls: {enabled}``; from
distribution 3: ``username`` and ``tls: {certificate, key, clientcas}``. dockyard's own:
``prefix`` (the key prefix, so several registries can share one Redis database). By
registry:2's environment rule ``REGISTRY_REDIS_ADDR=host:port`` sets ``redis.addr``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.errors import InvalidArgument
from dockyard.registry._config_tree import BOOL, INT, STR, STRLIST, Section
from dockyard.registry.limits import parse_duration

__all__ = ["REDIS_SCHEMA", "RedisConfig", "redis_from_section"]

REDIS_SCHEMA = Section(
    {
        "addr": STR, "username": STR, "password": STR, "db": INT,
        "dialtimeout": STR, "readtimeout": STR, "writetimeout": STR,
        "pool": Section({"maxidle": INT, "maxactive": INT, "idletimeout": STR}),
        "tls": Section({"enabled": BOOL, "certificate": STR, "key": STR, "clientcas": STRLIST}),
        "prefix": STR,
    },
    strict=True,
)  # fmt: skip

#: Most connections one process opens (``pool.maxactive``), at most.
MAX_CONNECTIONS = 1024


@dataclass(frozen=True, slots=True)
class RedisConfig:
    """Where Redis is and how to talk to it (timeouts in seconds)."""

    host: str
    port: int = 6379
    username: str | None = None
    password: str | None = None
    db: int = 0
    dial_timeout: float = 5.0
    read_timeout: float = 2.0
    write_timeout: float = 2.0
    max_connections: int = 64
    tls: bool = False
    certificate: Path | None = None
    key: Path | None = None
    client_cas: tuple[Path, ...] = ()
    prefix: str = "dockyard:"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, "6379"
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(
            f"redis.addr {text!r} is not host:port", hint="e.g. redis.addr: 127.0.0.1:6379"
        )
    return host, int(port)


def redis_from_section(section: Any) -> RedisConfig | None:
    """The checked ``redis:`` section (None when absent or empty: no Redis)."""
    if not section:
        return None
    addr = section.get("addr")
    if not addr:
        raise InvalidArgument(
            "the redis section has no addr",
            hint="set redis.addr (REGISTRY_REDIS_ADDR) to host:port",
        )
    host, port = _address(str(addr))
    db = int(section.get("db", 0))
    if not 0 <= db <= 15:
        raise InvalidArgument(f"redis.db is {db}; Redis numbers its databases 0 to 15")
    pool = section.get("pool", {})
    active = int(pool.get("maxactive", 64))
    if not 1 <= active <= MAX_CONNECTIONS:
        raise InvalidArgument(
            f"redis.pool.maxactive is {active}; it must be 1 to {MAX_CONNECTIONS}"
        )
    tls = section.get("tls", {})
    certificate, key = tls.get("certificate"), tls.get("key")
    if bool(certificate) != bool(key):
        raise InvalidArgument(
            "redis.tls names a certificate without a key (or a key without a certificate)",
            hint="give both redis.tls.certificate and redis.tls.key, or neither",
        )
    return RedisConfig(
        host=host,
        port=port,
        username=section.get("username") or None,
        password=section.get("password") or None,
        db=db,
        dial_timeout=_seconds(section, "dialtimeout", 5.0),
        read_timeout=_seconds(section, "readtimeout", 2.0),
        write_timeout=_seconds(section, "writetimeout", 2.0),
        max_connections=active,
        tls=bool(tls.get("enabled", False)) or bool(certificate),
        certificate=Path(certificate) if certificate else None,
        key=Path(key) if key else None,
        client_cas=tuple(Path(p) for p in tls.get("clientcas", ())),
        prefix=str(section.get("prefix", "dockyard:")),
    )


def _seconds(section: Any, key: str, default: float) -> float:
    value = section.get(key)
    return default if value in (None, "") else parse_duration(value, f"redis.{key}")
