"""The agent's settings that need no process: which ``?ns=`` hosts it answers for, the
preheat token and listen addresses it takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.p2p.agent import AgentConfig, check_token, loopback, parse_host_port


@pytest.mark.parametrize(
    ("registry", "mirror_of", "expected"),
    [
        ("http://127.0.0.1:5000", (), {"127.0.0.1:5000"}),
        ("reg.internal:5000", ("docker.io",), {"reg.internal:5000", "docker.io"}),
        # an image reference leaves the scheme's default port out
        ("https://Reg.Internal:443", (), {"reg.internal:443", "reg.internal"}),
        ("https://reg.internal", ("Quay.io",), {"reg.internal", "quay.io"}),
        ("http://reg.internal:80", (), {"reg.internal:80", "reg.internal"}),
        ("http://reg.internal:443", (), {"reg.internal:443"}),
    ],
)
def test_namespaces(registry: str, mirror_of: tuple[str, ...], expected: set[str]) -> None:
    config = AgentConfig(registry=registry, data=Path("unused"), mirror_of=mirror_of)
    assert config.namespaces == expected


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("short", "the preheat token must be 16 to 4096 printable characters"),
        ("x" * 4097, "the preheat token must be 16 to 4096 printable characters"),
        ("has a space in it ok", "without spaces"),
        ("tab\tinside-the-token", "printable"),
    ],
)
def test_bad_preheat_tokens_are_refused(token: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        check_token(token)


def test_good_preheat_tokens_and_addresses() -> None:
    assert check_token(None) is None
    assert check_token("0123456789abcdef") == "0123456789abcdef"
    assert parse_host_port("[::1]:9100", "--admin-listen") == ("::1", 9100)
    assert parse_host_port(":9100", "--admin-listen") == ("0.0.0.0", 9100)
    for bad in ("9100", "host:", "host:99999", "host:http"):
        with pytest.raises(InvalidArgument, match="--admin-listen"):
            parse_host_port(bad, "--admin-listen")
    assert loopback("127.0.0.1") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("10.0.0.7") and not loopback("node1")
