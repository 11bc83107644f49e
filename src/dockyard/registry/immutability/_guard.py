"""ImmutabilityGuard: the push guard that keeps protected tags where they were first pushed.

- a manifest PUT (or a new tag through the API, a promotion…) that would point an existing
  protected tag at another digest is refused: :class:`TagImmutable` (403 ``DENIED``), naming
  the rule; pushing the same digest again is allowed (as Harbor allows it), and so is a new
  tag, protected or not;
- deleting a protected tag, or a manifest a protected tag points at, is refused the same way
  (retention runs and every API delete ask the same guard).

Repositories outside any project are none of its business (the quota guard refuses pushes
there).
"""

from __future__ import annotations

import hashlib

from dockyard.errors import Denied, NameInvalid
from dockyard.registry._names import is_digest
from dockyard.registry.access import AccessService, project_of
from dockyard.registry.immutability._rules import ImmutableRule, protecting_rule
from dockyard.registry.immutability._store import ImmutableRules
from dockyard.registry.metadata import Database, RegistryMetadata

__all__ = ["ImmutabilityGuard", "TagImmutable"]


class TagImmutable(Denied):
    """A change to a tag an immutability rule protects."""

    def __init__(self, repository: str, tag: str, rule: ImmutableRule, doing: str) -> None:
        super().__init__(
            f"tag {repository}:{tag} is immutable ({rule.describe()}): it cannot be {doing}",
            hint="push a new tag instead, or have a project administrator disable or change "
            "the rule",
        )
        self.repository = repository
        self.tag = tag
        self.rule = rule


class ImmutabilityGuard:
    """The :class:`~dockyard.registry._push_guard.PushGuard` of immutability rules."""

    def __init__(self, rules: ImmutableRules, access: AccessService, db: Database) -> None:
        self.rules = rules
        self.access = access
        self._meta = RegistryMetadata(db)

    def _rules(self, repository: str) -> tuple[list[ImmutableRule], str]:
        """The enabled rules of ``repository``'s project, and its name inside the project."""
        try:
            project = project_of(repository)
        except NameInvalid:
            return [], repository
        ref = self.access.projects.ref(project)
        if ref is None:
            return [], repository
        return self.rules.enabled(ref[0]), repository[len(project) + 1 :]

    def protecting(self, repository: str, tag: str) -> ImmutableRule | None:
        """The enabled rule that protects ``tag`` of ``repository`` (full name), or None."""
        rules, inside = self._rules(repository)
        return protecting_rule(rules, inside, tag) if rules else None

    # --- PushGuard -----------------------------------------------------------------------

    def check_manifest(
        self, repository: str, tags: tuple[str, ...], body: bytes, content_type: str | None
    ) -> object:
        if not tags:
            return None
        rules, inside = self._rules(repository)
        if not rules:
            return None
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        for tag in tags:
            rule = protecting_rule(rules, inside, tag)
            if rule is None:
                continue
            current = self._meta.tag_digest(repository, tag)
            if current is not None and current != digest:
                raise TagImmutable(repository, tag, rule, f"moved from {current}")
        return None

    def pushed_manifest(self, repository: str, ticket: object) -> None:
        return None

    def check_blob(self, repository: str, digest: str, size: int) -> None:
        return None

    def check_delete(self, repository: str, reference: str) -> None:
        rules, inside = self._rules(repository)
        if not rules:
            return
        names = self._meta.tags_on(repository, reference) if is_digest(reference) else [reference]
        for tag in names:
            rule = protecting_rule(rules, inside, tag)
            if rule is not None:
                doing = "deleted" if tag == reference else f"deleted with {reference}"
                raise TagImmutable(repository, tag, rule, doing)

    def deleted(self, repository: str) -> None:
        return None
