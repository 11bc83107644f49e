"""RegistryConfig: registry:2's YAML shape and REGISTRY_* environment rule, precedence, errors."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotFound, Unsupported
from dockyard.registry.config import (
    DEFAULT_ADDR,
    RegistryConfig,
    default_rootdirectory,
    from_env,
    from_yaml,
    load,
)

# The guide's configuration, in registry:2's documented shape.
GUIDE_YAML = """\
version: 0.1
log:
  level: debug
  formatter: json
  fields:
    service: registry
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: 0.0.0.0:5000
  tls:
    certificate: /certs/domain.crt
    key: /certs/domain.key
auth:
  htpasswd:
    realm: Registry Realm
    path: /auth/htpasswd
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text)
    return path


def test_defaults_listen_on_loopback_with_a_data_dir() -> None:
    config = from_env({"HOME": "/home/u"})
    assert config.http.addr == DEFAULT_ADDR == "127.0.0.1:5000"
    assert config.http.host_port == ("127.0.0.1", 5000)
    assert config.storage.rootdirectory == Path("/home/u/.local/share/dockyard/registry")
    assert config.storage.driver == "filesystem"
    assert not config.storage.delete_enabled
    assert config.htpasswd is None and not config.auth_enabled
    assert config.http.tls is None
    assert config.log.level == "info" and config.log.formatter == "text"
    assert config.metrics.enabled and config.metrics.path == "/metrics"
    assert config.warnings == ()


def test_default_rootdirectory_follows_dockyard_root_then_xdg() -> None:
    assert default_rootdirectory({"DOCKYARD_ROOT": "/d", "XDG_DATA_HOME": "/x"}) == Path(
        "/d/registry"
    )
    assert default_rootdirectory({"XDG_DATA_HOME": "/x"}) == Path("/x/dockyard/registry")


def test_the_guides_environment_variables() -> None:
    config = from_env(
        {
            "REGISTRY_HTTP_ADDR": "0.0.0.0:443",
            "REGISTRY_HTTP_TLS_CERTIFICATE": "/certs/domain.crt",
            "REGISTRY_HTTP_TLS_KEY": "/certs/domain.key",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/data",
            "REGISTRY_STORAGE_DELETE_ENABLED": "true",
            "REGISTRY_AUTH": "htpasswd",
            "REGISTRY_AUTH_HTPASSWD_REALM": "Registry Realm",
            "REGISTRY_AUTH_HTPASSWD_PATH": "/auth/htpasswd",
            "UNRELATED": "x",
        }
    )
    assert config.http.host_port == ("0.0.0.0", 443)
    assert config.http.tls is not None
    assert config.http.tls.certificate == Path("/certs/domain.crt")
    assert config.http.tls.key == Path("/certs/domain.key")
    assert config.storage.rootdirectory == Path("/data")
    assert config.storage.delete_enabled
    assert config.htpasswd is not None
    assert config.htpasswd.realm == "Registry Realm"
    assert config.htpasswd.path == Path("/auth/htpasswd")


def test_the_general_env_rule_reaches_any_key() -> None:
    config = from_env(
        {
            "REGISTRY_LOG_LEVEL": "debug",
            "REGISTRY_LOG_FORMATTER": "logstash",
            "REGISTRY_LOG_ACCESSLOG_DISABLED": "yes",
            "REGISTRY_HTTP_PREFIX": "/reg/",
            "REGISTRY_HTTP_HOST": "https://registry.example.com",
            "REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED": "on",
            "REGISTRY_METRICS_ENABLED": "false",
            "REGISTRY_HTTP_TLS_CLIENTCAS": "[/a.pem, /b.pem]",
            "REGISTRY_HTTP_TLS_CERTIFICATE": "/c",
            "REGISTRY_HTTP_TLS_KEY": "/k",
            "REGISTRY_LOG_FIELDS": "{service: registry, environment: staging}",
        }
    )
    assert config.log.level == "debug"
    assert config.log.formatter == "json"
    assert config.log.accesslog_disabled
    assert config.log.fields == {"service": "registry", "environment": "staging"}
    assert config.http.prefix == "/reg"
    assert config.http.host == "https://registry.example.com"
    assert config.storage.readonly
    assert not config.metrics.enabled
    assert config.http.tls is not None
    assert config.http.tls.clientcas == (Path("/a.pem"), Path("/b.pem"))


def test_yaml_in_registry2s_shape(tmp_path: Path) -> None:
    config = from_yaml(write(tmp_path, GUIDE_YAML))
    assert config.http.addr == "0.0.0.0:5000"
    assert config.http.tls is not None and config.http.tls.key == Path("/certs/domain.key")
    assert config.storage.rootdirectory == Path("/var/lib/registry")
    assert config.storage.delete_enabled
    assert config.htpasswd is not None and config.htpasswd.realm == "Registry Realm"
    assert config.log.level == "debug" and config.log.formatter == "json"
    assert config.log.accesslog_disabled
    assert config.log.fields == {"service": "registry"}
    assert config.warnings == ()


def test_scalars_keep_their_text_like_gos_decoder(tmp_path: Path) -> None:
    # YAML 1.1 would read 1:30 as the integer 90 and "no" as false; registry:2 keeps strings.
    text = "version: 0.1\nhttp:\n  addr: 1:30\nauth:\n  htpasswd:\n    realm: no\n    path: 012\n"
    config = from_yaml(write(tmp_path, text))
    assert config.http.addr == "1:30"
    assert config.htpasswd is not None
    assert config.htpasswd.realm == "no" and config.htpasswd.path == Path("012")


def test_precedence_flags_over_env_over_file_over_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "version: 0.1\nhttp:\n  addr: 127.0.0.1:6000\n  prefix: /file\n"
        "storage:\n  filesystem:\n    rootdirectory: /file\n  delete:\n    enabled: true\n",
    )
    env = {
        "REGISTRY_HTTP_ADDR": "127.0.0.1:7000",
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": "/env",
    }
    config = load(path, env, {"http.addr": "127.0.0.1:8000", "storage.delete.enabled": None})
    assert config.http.addr == "127.0.0.1:8000"  # flag
    assert config.storage.rootdirectory == Path("/env")  # env over file
    assert config.http.prefix == "/file"  # file over default
    assert config.storage.delete_enabled  # a None override is "flag not given"
    assert config.log.level == "info"  # default
    overridden = load(path, env, {"storage.delete.enabled": False, "http.addr": ":9000"})
    assert not overridden.storage.delete_enabled
    assert overridden.http.host_port == ("0.0.0.0", 9000)


def test_env_auth_replaces_a_file_provider_and_sorts_before_its_params(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 0.1\nauth:\n  token:\n    realm: https://auth\n")
    env = {
        "REGISTRY_AUTH_HTPASSWD_PATH": "/p",
        "REGISTRY_AUTH_HTPASSWD_REALM": "r",
        "REGISTRY_AUTH": "htpasswd",
    }
    config = load(path, env)
    assert config.htpasswd is not None and config.htpasswd.path == Path("/p")


def test_unknown_keys_are_warned_about(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    text = GUIDE_YAML + "reporting:\n  bugsnag: {}\nhttpp:\n  addr: x\n"
    text = text.replace("  addr: 0.0.0.0:5000\n", "  addr: 0.0.0.0:5000\n  adr: typo\n")
    with caplog.at_level(logging.WARNING, logger="dockyard.registry.config"):
        config = from_yaml(write(tmp_path, text))
    assert any("'httpp'" in w and "unknown" in w for w in config.warnings)
    assert any("'http.adr'" in w for w in config.warnings)
    assert any("'reporting'" in w and "not used" in w for w in config.warnings)
    assert len(config.warnings) == 3
    assert "'http.adr'" in caplog.text


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("http:\n  addr: [a, b]\n", "http.addr"),
        ("storage:\n  delete:\n    enabled: maybe\n", "storage.delete.enabled"),
        ("http: five\n", "http"),
        ("auth:\n  htpasswd:\n    realm: {a: b}\n    path: /p\n", "auth.htpasswd.realm"),
        ("http:\n  tls:\n    clientcas: {a: b}\n", "http.tls.clientcas"),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(InvalidArgument, match=re.escape(f"'{key}'")):
        from_yaml(write(tmp_path, "version: 0.1\n" + text))


def test_wrong_type_from_env_names_the_key() -> None:
    with pytest.raises(InvalidArgument, match=r"'storage\.delete\.enabled'"):
        from_env({"REGISTRY_STORAGE_DELETE_ENABLED": "sometimes"})


@pytest.mark.parametrize(
    ("env", "error", "words"),
    [
        ({"REGISTRY_AUTH": "htpasswd"}, InvalidArgument, "auth.htpasswd.realm"),
        (
            {"REGISTRY_AUTH": "htpasswd", "REGISTRY_AUTH_HTPASSWD_REALM": "r"},
            InvalidArgument,
            "REGISTRY_AUTH_HTPASSWD_PATH",
        ),
        ({"REGISTRY_AUTH": "token"}, InvalidArgument, "auth.token.realm"),
        ({"REGISTRY_HTTP_TLS_CERTIFICATE": "/c"}, InvalidArgument, "http.tls.key"),
        ({"REGISTRY_HTTP_ADDR": "localhost"}, InvalidArgument, "HOST:PORT"),
        ({"REGISTRY_HTTP_ADDR": "a:99999"}, InvalidArgument, "HOST:PORT"),
        ({"REGISTRY_STORAGE_S3_BUCKET": "b"}, InvalidArgument, "storage.s3.region"),
        ({"REGISTRY_STORAGE_GCS_BUCKET": "b"}, Unsupported, "'gcs'"),
        ({"REGISTRY_LOG_LEVEL": "loud"}, InvalidArgument, "log.level"),
        ({"REGISTRY_HTTP_NET": "udp"}, InvalidArgument, "http.net"),
    ],
)
def test_bad_settings_say_what_to_fix(env: dict[str, str], error: type, words: str) -> None:
    with pytest.raises(error) as info:
        from_env(env)
    assert words in str(info.value)


def test_two_storage_drivers_are_refused(tmp_path: Path) -> None:
    text = "version: 0.1\nstorage:\n  filesystem: {rootdirectory: /a}\n  inmemory:\n"
    with pytest.raises(InvalidArgument, match="exactly one storage driver"):
        from_yaml(write(tmp_path, text))


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        from_yaml(tmp_path / "missing.yml")
    with pytest.raises(InvalidArgument, match="no version"):
        from_yaml(write(tmp_path, "http:\n  addr: :5000\n"))
    with pytest.raises(InvalidArgument, match=r"version '0\.2'"):
        from_yaml(write(tmp_path, "version: 0.2\n"))
    with pytest.raises(InvalidArgument, match="not valid YAML"):
        from_yaml(write(tmp_path, "version: 0.1\nhttp: [\n"))
    with pytest.raises(InvalidArgument, match="top level must be a mapping"):
        from_yaml(write(tmp_path, "- a\n- b\n"))


def test_yaml_file_config_is_usable_by_registry2_itself(tmp_path: Path) -> None:
    """The same file our loader reads is one registry:2 reads: a cross-check on the shape."""
    config: RegistryConfig = from_yaml(write(tmp_path, GUIDE_YAML))
    assert config.sections == {}
    text = "version: 0.1\npolicies:\n  signatures:\n    - {repository: prod/*, keys: [k.pub]}\n"
    policies = from_yaml(write(tmp_path, text))
    assert policies.sections == {
        "policies": {"signatures": [{"repository": "prod/*", "keys": ["k.pub"]}]}
    }
