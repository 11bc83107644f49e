"""AccessService is what the token service and the API expect, checked by mypy (the
assignments) and at run time (through the protocol's own methods)."""

from __future__ import annotations

from _infra.access import PASSWORD
from dockyard.registry.access import AccessService
from dockyard.registry.harbor._security import ApiSecurity
from dockyard.registry.identity import parse_scopes
from dockyard.registry.token._grant import Granter


def test_access_service_is_a_granter_and_an_api_security(service: AccessService) -> None:
    granter: Granter = service
    security: ApiSecurity = service
    service.users.create("alice", PASSWORD)
    service.projects.create("team", owner_id=service.users.by_name("alice").id)
    alice = granter.authenticate("alice", PASSWORD, client_ip="127.0.0.1")
    assert granter.grant(alice, parse_scopes(["repository:team/app:pull,push"])) == parse_scopes(
        ["repository:team/app:pull,push"]
    )
    assert security.can(alice, "team", "member", "create")
    assert not security.can(security.identify(None, client_ip="127.0.0.1"), "team", "tag", "list")
