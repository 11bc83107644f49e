"""The agent's settings that need no process: which ``?ns=`` hosts it answers for."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.p2p.agent import AgentConfig


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
