"""registry:2's ``redis:`` section: its keys and environment rule, and strictness (it holds a
password and TLS settings, so an unknown key stops start-up)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.config import from_env, load
from dockyard.registry.redis import RedisConfig


def test_registry2_keys_are_read(tmp_path: Path) -> None:
    path = tmp_path / "config.yml"
    path.write_text(
        "version: 0.1\n"
        "storage: {filesystem: {rootdirectory: /srv/registry}}\n"
        "redis:\n"
        "  addr: 10.0.0.5:6380\n"
        "  password: s3cret\n"
        "  db: 2\n"
        "  dialtimeout: 10ms\n"
        "  readtimeout: 1s\n"
        "  writetimeout: 2s\n"
        "  pool: {maxidle: 16, maxactive: 32, idletimeout: 300s}\n"
        "  tls: {enabled: false}\n"
    )
    config = load(path, {})
    assert config.redis == RedisConfig(
        host="10.0.0.5", port=6380, password="s3cret", db=2, dial_timeout=0.01,
        read_timeout=1.0, write_timeout=2.0, max_connections=32,
    )  # fmt: skip


def test_environment_sets_the_address() -> None:
    config = from_env({"REGISTRY_REDIS_ADDR": "127.0.0.1:7000", "REGISTRY_REDIS_DB": "1"})
    assert config.redis is not None
    assert (config.redis.address, config.redis.db) == ("127.0.0.1:7000", 1)
    assert from_env({}).redis is None


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REGISTRY_REDIS_ADDR": "127.0.0.1:6379", "REGISTRY_REDIS_PASWORD": "x"}, "pasword"),
        ({"REGISTRY_REDIS_ADDR": "127.0.0.1:6379", "REGISTRY_REDIS_TLS_ENABLD": "true"}, "enabld"),
        ({"REGISTRY_REDIS_ADDR": "nohost:port"}, "host:port"),
        ({"REGISTRY_REDIS_PASSWORD": "x"}, "no addr"),
        ({"REGISTRY_REDIS_ADDR": "127.0.0.1:6379", "REGISTRY_REDIS_DB": "16"}, "0 to 15"),
        ({"REGISTRY_REDIS_ADDR": "127.0.0.1:6379", "REGISTRY_REDIS_TLS_KEY": "/k.pem"}, "key"),
    ],
)
def test_bad_settings_stop_start_up(env: dict[str, str], says: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        from_env(env)
    assert says in str(caught.value).lower()
