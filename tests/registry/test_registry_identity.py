"""Scopes as the Docker token spec and distribution read them."""

from __future__ import annotations

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.identity import ANONYMOUS, Scope, format_scopes, parse_scope, parse_scopes


def test_scope_round_trips() -> None:
    scope = parse_scope("repository:team/app:pull,push")
    assert scope == Scope("repository", "team/app", ("pull", "push"))
    assert str(scope) == "repository:team/app:pull,push"
    assert scope.claim() == {"type": "repository", "name": "team/app", "actions": ["pull", "push"]}


def test_name_with_a_port_keeps_its_colon() -> None:
    assert parse_scope("repository:localhost:5000/app:pull").name == "localhost:5000/app"


def test_plugin_type_and_wildcard() -> None:
    assert parse_scope("repository(plugin):x/y:*").type == "repository(plugin)"
    assert parse_scope("registry:catalog:*").actions == ("*",)


@pytest.mark.parametrize(
    "text",
    ["", "repository", "repository:app", "repository::pull", "Repo:app:pull", "repository:a:PULL",
     "repository:a:pull;drop", "repository:a:" + "x" * 2000],
)  # fmt: skip
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_scope(text)


def test_scopes_for_one_resource_merge() -> None:
    scopes = parse_scopes(["repository:a:pull", "repository:a:push repository:b:pull"])
    assert format_scopes(scopes) == "repository:a:pull,push repository:b:pull"


def test_too_many_scopes_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="more than"):
        parse_scopes([f"repository:r{i}:pull" for i in range(65)])


def test_anonymous_identity() -> None:
    assert ANONYMOUS.anonymous and not ANONYMOUS.sysadmin
