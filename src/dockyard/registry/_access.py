"""Who may read which repository: the one question the distribution API asks before it lets a
request see into a repository it did not name as its target (a cross-repository mount).

Today there is one permission level — every caller the authenticator let in may read every
repository — so :func:`can_read` says yes; the access layer (projects, members, roles) replaces
it, and every handler that asks already goes through here.
"""

from __future__ import annotations

__all__ = ["can_read"]


def can_read(user: str | None, repository: str) -> bool:
    """Whether ``user`` may pull from ``repository``. ``user`` is the authenticated name, or
    None on a registry without authentication (where everyone may read everything)."""
    del user, repository  # one permission level for now: authenticated means allowed
    return True
