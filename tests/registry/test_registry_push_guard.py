"""GuardChain: every guard asked in order, the first refusal stops the change, and each guard
gets back its own ticket."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from dockyard.errors import Denied
from dockyard.registry._push_guard import GuardChain, PushGuard


@dataclass
class Recorder:
    """A guard that writes down what it is asked (and refuses ``refuse``)."""

    name: str
    log: list[str]
    refuse: str = ""
    tickets: list[object] = field(default_factory=list)

    def _ask(self, what: str) -> None:
        self.log.append(f"{self.name}:{what}")
        if what == self.refuse:
            raise Denied(f"{self.name} refuses {what}")

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        self._ask(f"manifest {repository} {','.join(tags)}")
        return f"ticket-{self.name}"

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        self.tickets.append(ticket)

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        self._ask(f"blob {digest}")

    def check_delete(self, repository: str, reference: str) -> None:
        self._ask(f"delete {reference}")

    def deleted(self, repository: str) -> None:
        self._ask(f"deleted {repository}")


def test_guards_are_asked_in_order_and_get_their_own_tickets() -> None:
    log: list[str] = []
    first, second = Recorder("a", log), Recorder("b", log)
    chain: PushGuard = GuardChain([first, second])
    ticket = chain.check_manifest("team/app", ("v1", "latest"), b"{}", None)
    chain.pushed_manifest("team/app", ticket)
    chain.check_blob("team/app", "sha256:00", 1)
    chain.check_delete("team/app", "v1")
    chain.deleted("team/app")
    assert log == [
        "a:manifest team/app v1,latest", "b:manifest team/app v1,latest",
        "a:blob sha256:00", "b:blob sha256:00",
        "a:delete v1", "b:delete v1",
        "a:deleted team/app", "b:deleted team/app",
    ]  # fmt: skip
    assert first.tickets == ["ticket-a"] and second.tickets == ["ticket-b"]


def test_the_first_refusal_stops_the_chain() -> None:
    log: list[str] = []
    chain = GuardChain([Recorder("a", log, refuse="delete v1"), Recorder("b", log)])
    with pytest.raises(Denied, match="a refuses delete v1"):
        chain.check_delete("team/app", "v1")
    assert log == ["a:delete v1"]
    chain.check_delete("team/app", "v2")
    assert log[1:] == ["a:delete v2", "b:delete v2"]
    assert GuardChain().check_manifest("team/app", (), b"{}", None) == ()
