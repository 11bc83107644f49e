"""ImmutableRules: a project's immutability rules in the registry's database (every write one
transaction)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.errors import Conflict, NotFound
from dockyard.registry.immutability._rules import ImmutableRule, InvalidRule, rule_from_json
from dockyard.registry.immutability._schema import immutable_rules, metadata
from dockyard.registry.metadata import Database, one_per_database

__all__ = ["DuplicateRule", "ImmutableRules", "RuleNotFound", "rules_of"]


def rules_of(db: Database) -> ImmutableRules:
    """The rules kept in ``db`` (one store per database; its table made on first use, so
    call it from a thread)."""
    return _rules_of(db)


class DuplicateRule(Conflict):
    """A project has a rule with the same selectors already (409 CONFLICT)."""


class RuleNotFound(NotFound):
    """No such rule in the project (404)."""


def _filter_text(rule: ImmutableRule) -> str:
    return json.dumps(rule.filter_json(), sort_keys=True, separators=(",", ":"))


def _rule(row: Any) -> ImmutableRule:
    stored = json.loads(row.tag_filter)
    try:
        return rule_from_json(
            {**stored, "priority": row.priority, "disabled": bool(row.disabled)},
            rule_id=int(row.id),
            project_id=int(row.project_id),
        )
    except InvalidRule as exc:  # only if the table was edited by hand
        raise InvalidRule(f"stored immutable tag rule {row.id} is invalid: {exc}") from None


class ImmutableRules:
    """Create, list, change and delete rules; :meth:`enabled` is what the guard reads."""

    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock
        db.create_tables(metadata)

    def page(
        self,
        project_id: int,
        offset: int = 0,
        limit: int | None = None,
        *,
        newest_first: bool = False,
    ) -> tuple[int, list[ImmutableRule]]:
        """(how many the project has, those of the page), oldest first (Harbor's order)."""
        where = immutable_rules.c.project_id == project_id
        order = immutable_rules.c.id.desc() if newest_first else immutable_rules.c.id
        query = select(immutable_rules).where(where).order_by(order)
        query = query.offset(offset).limit(limit)
        with self._db.read() as conn:
            total = conn.execute(select(func.count()).where(where)).scalar_one()
            rows = conn.execute(query).all()
        return int(total), [_rule(r) for r in rows]

    def enabled(self, project_id: int) -> list[ImmutableRule]:
        """The project's enabled rules, oldest first."""
        query = (
            select(immutable_rules)
            .where(immutable_rules.c.project_id == project_id, ~immutable_rules.c.disabled)
            .order_by(immutable_rules.c.id)
        )
        with self._db.read() as conn:
            return [_rule(r) for r in conn.execute(query)]

    def get(self, project_id: int, rule_id: int) -> ImmutableRule:
        with self._db.read() as conn:
            return self._get(conn, project_id, rule_id)

    @staticmethod
    def _get(conn: Connection, project_id: int, rule_id: int) -> ImmutableRule:
        row = conn.execute(
            select(immutable_rules).where(
                immutable_rules.c.id == rule_id, immutable_rules.c.project_id == project_id
            )
        ).first()
        if row is None:
            raise RuleNotFound(
                f"immutable tag rule {rule_id} not found in project {project_id}",
                hint="list the project's rules to see their ids",
            )
        return _rule(row)

    @staticmethod
    def _no_duplicate(conn: Connection, project_id: int, text: str, rule_id: int = 0) -> None:
        found = conn.execute(
            select(immutable_rules.c.id).where(
                immutable_rules.c.project_id == project_id,
                immutable_rules.c.tag_filter == text,
                immutable_rules.c.id != rule_id,
            )
        ).first()
        if found is not None:
            raise DuplicateRule(
                f"immutable rule already exists: rule {found[0]} has the same selectors",
                hint="change that rule, or give this one other patterns",
            )

    def create(self, project_id: int, rule: ImmutableRule) -> ImmutableRule:
        """Store ``rule`` in the project (enabled or not, as given); the stored rule."""
        text = _filter_text(rule)
        now = self._clock()
        try:
            with self._db.write() as conn:
                self._no_duplicate(conn, project_id, text)
                result = conn.execute(
                    immutable_rules.insert().values(
                        project_id=project_id,
                        tag_filter=text,
                        priority=rule.priority,
                        disabled=rule.disabled,
                        created_at=now,
                        updated_at=now,
                    )
                )
                (rule_id,) = result.inserted_primary_key or (0,)
                return self._get(conn, project_id, int(rule_id))
        except IntegrityError:  # a concurrent create of the same rule (PostgreSQL)
            raise DuplicateRule("immutable rule already exists") from None

    def update(self, project_id: int, rule_id: int, rule: ImmutableRule) -> ImmutableRule:
        """Replace the selectors, priority and disabled flag of rule ``rule_id``."""
        text = _filter_text(rule)
        try:
            with self._db.write() as conn:
                self._get(conn, project_id, rule_id)
                self._no_duplicate(conn, project_id, text, rule_id)
                conn.execute(
                    update(immutable_rules)
                    .where(immutable_rules.c.id == rule_id)
                    .values(
                        tag_filter=text,
                        priority=rule.priority,
                        disabled=rule.disabled,
                        updated_at=self._clock(),
                    )
                )
                return self._get(conn, project_id, rule_id)
        except IntegrityError:
            raise DuplicateRule("immutable rule already exists") from None

    def set_disabled(self, project_id: int, rule_id: int, disabled: bool) -> ImmutableRule:
        with self._db.write() as conn:
            self._get(conn, project_id, rule_id)
            conn.execute(
                update(immutable_rules)
                .where(immutable_rules.c.id == rule_id)
                .values(disabled=disabled, updated_at=self._clock())
            )
            return self._get(conn, project_id, rule_id)

    def delete(self, project_id: int, rule_id: int) -> None:
        with self._db.write() as conn:
            gone = conn.execute(
                delete(immutable_rules).where(
                    immutable_rules.c.id == rule_id, immutable_rules.c.project_id == project_id
                )
            )
            if not gone.rowcount:
                raise RuleNotFound(
                    f"immutable tag rule {rule_id} not found in project {project_id}",
                    hint="list the project's rules to see their ids",
                )


_rules_of = one_per_database(ImmutableRules)
