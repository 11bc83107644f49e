"""What a change to a repository must pass besides the distribution API's own checks: a
project's storage quota, its immutable tags, … — the hook the ``/v2/`` handlers, the Harbor
API's tag and artifact endpoints and server-side jobs that delete (retention) or move tags
(promotion) call around manifest PUTs, tag changes, blob upload finishes and deletes.

One :class:`GuardChain` holds every guard of a registry (``Registry.guard``); a caller asks the
chain, never a guard on its own, so a policy written as a guard holds everywhere. Only the
protocol and the chain live here, so the HTTP layer imports nothing heavy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = ["GuardChain", "PushGuard"]


class PushGuard(Protocol):
    """Every method may block (database): the handlers call them from worker threads.

    Refusals raise a :class:`~dockyard.errors.Denied` error (403 ``DENIED``) whose message
    names what refused (the quota, the rule)."""

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        """Raise to refuse storing this manifest and pointing ``tags`` at it (the PUT's tag
        reference, or its ``?tag=`` parameters; empty for a PUT by digest alone); else a
        ticket for :meth:`pushed_manifest`."""
        ...

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        """The manifest ``check_manifest`` returned ``ticket`` for is stored."""
        ...

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        """Raise to refuse finishing an upload of ``size`` bytes."""
        ...

    def check_delete(self, repository: str, reference: str) -> None:
        """Raise to refuse deleting ``reference`` (a tag, or a manifest's digest with every
        tag on it) from ``repository``; asked before anything is deleted."""
        ...

    def deleted(self, repository: str) -> None:
        """Something in ``repository`` was deleted (give back what is no longer held)."""
        ...


class GuardChain:
    """Every guard, in order: the first refusal stops the change. Itself a
    :class:`PushGuard`; its tickets are the tuple of its guards' tickets."""

    __slots__ = ("guards",)

    def __init__(self, guards: Iterable[PushGuard] = ()) -> None:
        self.guards: tuple[PushGuard, ...] = tuple(guards)

    def __repr__(self) -> str:
        return f"GuardChain({list(self.guards)!r})"

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        return tuple(g.check_manifest(repository, tags, body, content_type) for g in self.guards)

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        tickets = ticket if isinstance(ticket, tuple) else (None,) * len(self.guards)
        for guard, one in zip(self.guards, tickets, strict=True):
            guard.pushed_manifest(repository, one)

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        for guard in self.guards:
            guard.check_blob(repository, digest, size)

    def check_delete(self, repository: str, reference: str) -> None:
        for guard in self.guards:
            guard.check_delete(repository, reference)

    def deleted(self, repository: str) -> None:
        for guard in self.guards:
            guard.deleted(repository)
