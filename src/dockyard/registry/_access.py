"""Who may read which repository: the one question the distribution API asks before it lets a
request see into a repository it did not name as its target (a cross-repository mount).

With htpasswd auth (or none) there is one permission level — every caller the authenticator let
in may read every repository. With bearer tokens the caller may read what its token grants
``pull`` on (the ``access`` claim, as :class:`~dockyard.registry._authorize.AccessSet`).
"""

from __future__ import annotations

from dockyard.registry._authorize import AccessSet

__all__ = ["can_read"]


def can_read(user: str | None, repository: str, access: AccessSet | None = None) -> bool:
    """Whether ``user`` may pull from ``repository``. ``user`` is the authenticated name, or
    None on a registry without authentication; ``access`` is what the caller's token grants
    (None: no tokens in use, and authenticated means allowed)."""
    del user  # the token's grants (or their absence) decide, not the name
    if access is None:
        return True
    return access.allows("repository", repository, "pull")
