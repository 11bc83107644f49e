"""The ``proxy:`` section: registry:2's keys and variables, several upstreams, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unsupported
from dockyard.registry.config import from_yaml, load
from dockyard.registry.proxy import DEFAULT_TTL, ProxyConfig, Upstream


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text("version: 0.1\n" + text)
    return path


def test_no_proxy_section_means_no_proxy() -> None:
    assert load(None, {}).proxy is None


def test_registry2_keys_from_the_environment() -> None:
    config = load(
        None,
        {
            "REGISTRY_PROXY_REMOTEURL": "https://registry-1.docker.io/",
            "REGISTRY_PROXY_USERNAME": "me",
            "REGISTRY_PROXY_PASSWORD": "secret",
            "REGISTRY_PROXY_TTL": "72h",
        },
    )
    hub = Upstream(
        "default", "https://registry-1.docker.io", "me", "secret", 72 * 3600.0, ("docker.io",)
    )
    assert config.proxy == ProxyConfig((hub,))
    # one upstream: every ns is served by it, as registry:2 ignores ns
    assert config.proxy.for_namespace("docker.io") == config.proxy.for_namespace("quay.io") == hub


def test_several_upstreams_and_namespace_selection(tmp_path: Path) -> None:
    config = from_yaml(
        _yaml(
            tmp_path,
            "proxy:\n"
            "  remoteurl: https://registry-1.docker.io\n"
            "  upstreams:\n"
            "    - {name: ghcr, remoteurl: https://ghcr.io, ttl: 0}\n"
            "    - {name: private, remoteurl: 'http://10.0.0.5:5000', hosts: [registry.corp]}\n",
        )
    )
    proxy = config.proxy
    assert proxy is not None
    assert [u.name for u in proxy.upstreams] == ["default", "ghcr", "private"]
    assert proxy.default.ttl == DEFAULT_TTL and proxy.upstreams[1].ttl == 0.0
    assert proxy.for_namespace(None) is proxy.default
    assert proxy.for_namespace("ghcr.io") is proxy.upstreams[1]
    assert proxy.for_namespace("registry.corp") is proxy.upstreams[2]
    assert proxy.for_namespace("10.0.0.5:5000") is proxy.upstreams[2]
    assert proxy.for_namespace("docker.io") is proxy.default
    assert proxy.for_namespace("quay.io") is None


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("proxy:\n  remoteurl: registry-1.docker.io\n", InvalidArgument, "base URL"),
        ("proxy:\n  remoteurl: https://r.example/v2\n", InvalidArgument, "base URL"),
        ("proxy:\n  username: me\n  password: x\n", InvalidArgument, "no remoteurl"),
        ("proxy:\n  remoteurl: https://r.example\n  username: me\n", InvalidArgument, "password"),
        ("proxy:\n  remoteurl: https://r.example\n  ttl: soon\n", InvalidArgument, "proxy.ttl"),
        (
            "proxy:\n  remoteurl: https://r.example\n  remoteurls: x\n",
            InvalidArgument,
            "remoteurls",
        ),
        (
            "proxy:\n  upstreams:\n    - {name: a, remoteurl: 'https://a.example'}\n"
            "    - {name: a, remoteurl: 'https://b.example'}\n",
            InvalidArgument,
            "two upstreams named 'a'",
        ),
        (
            "proxy:\n  upstreams:\n    - {name: 'No Good', remoteurl: 'https://a.example'}\n",
            InvalidArgument,
            "not a valid name",
        ),
    ],
)
def test_mistakes_stop_start_up(
    tmp_path: Path, text: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        from_yaml(_yaml(tmp_path, text))
    assert words in str(info.value)
    assert not isinstance(info.value, Unsupported)
