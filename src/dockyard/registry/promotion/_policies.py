"""Promotion policies: per project, "these tags require these gates".

A policy is ``{"tags": ["prod", "release-*"], "require": {...}}``: any change that points one of
those tags at a digest (a promotion, a ``docker push …:prod``, the API's tag creation) must
pass the gates. Tag patterns use ``*`` and ``?`` (shell-style, whole name).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import delete, select, update

from dockyard.errors import InvalidArgument, NotFound
from dockyard.registry.metadata import Database
from dockyard.registry.promotion._requirements import Requirements, parse_requirements
from dockyard.registry.promotion._schema import metadata, promotion_policies

__all__ = ["PolicyStore", "PromotionPolicy", "parse_tags"]

MAX_TAGS = 32


@dataclass(frozen=True, slots=True)
class PromotionPolicy:
    id: int
    project_id: int
    project: str
    tags: tuple[str, ...]
    require: Requirements
    creation_time: float
    update_time: float

    def covers(self, tag: str) -> bool:
        return any(fnmatchcase(tag, pattern) for pattern in self.tags)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "tags": list(self.tags), "require": self.require.to_json()}


def parse_tags(value: object) -> tuple[str, ...]:
    """A policy's ``tags``: 1 to :data:`MAX_TAGS` non-empty names or patterns."""
    if (
        not isinstance(value, list)
        or not value
        or len(value) > MAX_TAGS
        or not all(isinstance(t, str) and t and len(t) <= 128 for t in value)
    ):
        raise InvalidArgument(
            f'tags must list 1 to {MAX_TAGS} tag names or patterns, e.g. ["prod", "release-*"]'
        )
    return tuple(dict.fromkeys(value))


class PolicyStore:
    """Reads and writes ``promotion_policies`` (created when missing)."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        db.create_tables(metadata)

    @staticmethod
    def _row(row: Any) -> PromotionPolicy:
        return PromotionPolicy(
            int(row.id),
            int(row.project_id),
            str(row.project),
            tuple(json.loads(row.tags)),
            parse_requirements(json.loads(row.require)),
            float(row.creation_time),
            float(row.update_time),
        )

    def create(
        self, project_id: int, project: str, tags: Iterable[str], require: Requirements
    ) -> PromotionPolicy:
        if require.empty:
            raise InvalidArgument(
                "a promotion policy must require at least one gate (signature, scan or attestation)"
            )
        now = self._clock()
        values = {
            "project_id": project_id,
            "project": project,
            "tags": json.dumps(list(tags)),
            "require": json.dumps(require.to_json()),
            "creation_time": now,
            "update_time": now,
        }
        with self._db.write() as conn:
            key = conn.execute(promotion_policies.insert().values(**values)).inserted_primary_key
        assert key is not None
        return self.get(project_id, project, int(key[0]))

    def of_project(self, project_id: int, project: str) -> list[PromotionPolicy]:
        q = (
            select(promotion_policies)
            .where(
                promotion_policies.c.project_id == project_id,
                promotion_policies.c.project == project,
            )
            .order_by(promotion_policies.c.id)
        )
        with self._db.read() as conn:
            return [self._row(r) for r in conn.execute(q)]

    def get(self, project_id: int, project: str, policy_id: int) -> PromotionPolicy:
        for policy in self.of_project(project_id, project):
            if policy.id == policy_id:
                return policy
        raise NotFound(f"promotion policy {policy_id} not found in project {project}")

    def replace(
        self,
        project_id: int,
        project: str,
        policy_id: int,
        tags: Iterable[str],
        require: Requirements,
    ) -> PromotionPolicy:
        self.get(project_id, project, policy_id)
        if require.empty:
            raise InvalidArgument("a promotion policy must require at least one gate")
        with self._db.write() as conn:
            conn.execute(
                update(promotion_policies)
                .where(promotion_policies.c.id == policy_id)
                .values(
                    tags=json.dumps(list(tags)),
                    require=json.dumps(require.to_json()),
                    update_time=self._clock(),
                )
            )
        return self.get(project_id, project, policy_id)

    def delete(self, project_id: int, project: str, policy_id: int) -> None:
        self.get(project_id, project, policy_id)
        with self._db.write() as conn:
            conn.execute(delete(promotion_policies).where(promotion_policies.c.id == policy_id))

    def covering(self, project_id: int, project: str, tags: Iterable[str]) -> list[PromotionPolicy]:
        """The policies of the project that cover any of ``tags``."""
        wanted = list(tags)
        if not wanted:
            return []
        return [p for p in self.of_project(project_id, project) if any(p.covers(t) for t in wanted)]
