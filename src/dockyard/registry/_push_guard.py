"""What a push must pass besides the distribution API's own checks (a project's storage
quota): the hook the ``/v2/`` handlers call around manifest PUTs, blob upload finishes and
deletes. Only the protocol lives here, so the HTTP layer imports nothing heavy."""

from __future__ import annotations

from typing import Protocol

__all__ = ["PushGuard"]


class PushGuard(Protocol):
    """Every method may block (database): the handlers call them from worker threads."""

    def check_manifest(self, repository: str, body: bytes, content_type: str | None) -> object:
        """Raise a Denied error to refuse storing this manifest; else a ticket for
        :meth:`pushed_manifest`."""
        ...

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        """The manifest ``check_manifest`` returned ``ticket`` for is stored."""
        ...

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        """Raise a Denied error to refuse finishing an upload of ``size`` bytes."""
        ...

    def deleted(self, repository: str) -> None:
        """Something in ``repository`` was deleted (give back what is no longer held)."""
        ...
