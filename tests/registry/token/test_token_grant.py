"""What a granter's answer is cut down to: never more than asked, and ``*`` asks for all."""

from __future__ import annotations

from dockyard.registry.identity import Scope, parse_scope
from dockyard.registry.token._grant import granted_subset


def test_a_granter_cannot_widen_the_request() -> None:
    asked = [parse_scope("repository:pub/app:pull")]
    given = [parse_scope("repository:pub/app:pull,push,delete"), parse_scope("registry:catalog:*")]
    assert granted_subset(asked, given) == [Scope("repository", "pub/app", ("pull",))]


def test_a_star_request_gets_what_the_granter_allows() -> None:
    # Harbor answers a guest's repository:x:* with pull
    asked = [parse_scope("repository:pub/app:*")]
    assert granted_subset(asked, [parse_scope("repository:pub/app:pull")]) == [
        Scope("repository", "pub/app", ("pull",))
    ]


def test_nothing_granted_leaves_the_scope_out() -> None:
    asked = [parse_scope("repository:priv/app:*"), parse_scope("repository:pub/app:push")]
    assert granted_subset(asked, [parse_scope("repository:pub/app:pull")]) == []
