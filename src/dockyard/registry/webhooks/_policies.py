"""Harbor's webhook policies of a project: a name, the event types it wants, its targets
(``http`` with Harbor's default payload or ``CloudEvents``), enabled or not, and the secret
the deliveries are signed with."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Row, func, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.registry.events import EVENT_TYPES
from dockyard.registry.metadata import Database
from dockyard.registry.webhooks._payloads import CLOUDEVENTS, DEFAULT
from dockyard.registry.webhooks._schema import executions, metadata, policies, tasks

__all__ = ["NOTIFY_TYPES", "PAYLOAD_FORMATS", "Policy", "PolicyStore", "Target"]

#: Harbor's notify types dockyard delivers to, and the payload formats of each.
NOTIFY_TYPES = ("http",)
PAYLOAD_FORMATS = {"http": (DEFAULT, CLOUDEVENTS)}


@dataclass(frozen=True, slots=True)
class Target:
    address: str
    type: str = "http"
    auth_header: str = ""
    skip_cert_verify: bool = False
    payload_format: str = DEFAULT

    def json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "address": self.address,
            "auth_header": self.auth_header,
            "skip_cert_verify": self.skip_cert_verify,
            "payload_format": self.payload_format,
        }


@dataclass(frozen=True, slots=True)
class Policy:
    id: int
    project_id: int
    name: str
    event_types: tuple[str, ...]
    targets: tuple[Target, ...]
    description: str = ""
    enabled: bool = True
    secret: str = ""
    creator: str = ""
    creation_time: float = 0.0
    update_time: float = 0.0

    def wants(self, event_type: str) -> bool:
        return self.enabled and event_type in self.event_types


def parse_target(value: object) -> Target:
    """A target from Harbor's JSON; InvalidArgument saying what is wrong."""
    if not isinstance(value, dict):
        raise InvalidArgument("each target must be an object with type and address")
    kind = value.get("type") or "http"
    if kind not in NOTIFY_TYPES:
        raise InvalidArgument(
            f"target type {str(kind)[:32]!r} is not supported", hint="use type http"
        )
    address = value.get("address")
    if not isinstance(address, str) or not address:
        raise InvalidArgument("a target needs an address (an http:// or https:// URL)")
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidArgument(f"target address {address[:200]!r} is not an http:// or https:// URL")
    fmt = value.get("payload_format") or DEFAULT
    if fmt not in PAYLOAD_FORMATS[str(kind)]:
        raise InvalidArgument(
            f"payload_format {str(fmt)[:32]!r} is not supported",
            hint=f"use {DEFAULT} or {CLOUDEVENTS}",
        )
    auth = value.get("auth_header") or ""
    skip = value.get("skip_cert_verify", False)
    if not isinstance(auth, str) or not isinstance(skip, bool):
        raise InvalidArgument("auth_header must be a string and skip_cert_verify a boolean")
    return Target(address, str(kind), auth, skip, str(fmt))


def check_event_types(values: object) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise InvalidArgument(
            "event_types must be a non-empty list", hint=f"choose from {', '.join(EVENT_TYPES)}"
        )
    unknown = [v for v in values if v not in EVENT_TYPES]
    if unknown:
        raise InvalidArgument(
            f"unknown event type {str(unknown[0])[:40]!r}",
            hint=f"choose from {', '.join(EVENT_TYPES)}",
        )
    return tuple(dict.fromkeys(str(v) for v in values))


def _policy(row: Row[Any]) -> Policy:
    return Policy(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        event_types=tuple(json.loads(row.event_types)),
        targets=tuple(Target(**t) for t in json.loads(row.targets)),
        description=row.description,
        enabled=row.enabled,
        secret=row.secret,
        creator=row.creator,
        creation_time=row.creation_time,
        update_time=row.update_time,
    )


def _values(policy: Policy) -> dict[str, Any]:
    return {
        "project_id": policy.project_id,
        "name": policy.name,
        "description": policy.description,
        "enabled": policy.enabled,
        "event_types": json.dumps(list(policy.event_types)),
        "targets": json.dumps([t.json() for t in policy.targets]),
        "secret": policy.secret,
        "creator": policy.creator,
        "update_time": policy.update_time,
    }


class PolicyStore:
    """The policies in the registry's database (tables created when missing)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        db.create_tables(metadata)

    def create(self, policy: Policy) -> Policy:
        now = time.time()
        policy = replace(policy, creation_time=now, update_time=now)
        try:
            with self.db.write() as conn:
                result = conn.execute(
                    policies.insert().values(**_values(policy), creation_time=now)
                )
        except IntegrityError:
            raise AlreadyExists(
                f"webhook policy {policy.name!r} already exists in this project",
                hint="choose another name, or update the existing policy",
            ) from None
        key = result.inserted_primary_key
        assert key is not None
        return replace(policy, id=int(key[0]))

    def get(self, project_id: int, policy_id: int) -> Policy:
        with self.db.read() as conn:
            row = conn.execute(
                select(policies).where(
                    policies.c.id == policy_id, policies.c.project_id == project_id
                )
            ).first()
        if row is None:
            raise NotFound(
                f"webhook policy {policy_id} not found in this project",
                hint="list the project's webhook policies to see their ids",
            )
        return _policy(row)

    def of_project(
        self, project_id: int, *, page: int = 1, size: int = 100
    ) -> tuple[list[Policy], int]:
        where = policies.c.project_id == project_id
        with self.db.read() as conn:
            total = conn.execute(select(func.count()).select_from(policies).where(where)).scalar()
            rows = conn.execute(
                select(policies).where(where).order_by(policies.c.id)
                .limit(size).offset((page - 1) * size)
            ).all()  # fmt: skip
        return [_policy(r) for r in rows], int(total or 0)

    def for_projects(self, conn: Any, project_ids: Iterable[int]) -> dict[int, list[Policy]]:
        """The enabled policies of ``project_ids`` (inside the caller's transaction)."""
        ids = sorted(set(project_ids))
        out: dict[int, list[Policy]] = {}
        if not ids:
            return out
        rows = conn.execute(
            select(policies).where(policies.c.project_id.in_(ids), policies.c.enabled.is_(True))
        ).all()
        for row in rows:
            out.setdefault(row.project_id, []).append(_policy(row))
        return out

    def update(self, policy: Policy) -> Policy:
        policy = replace(policy, update_time=time.time())
        try:
            with self.db.write() as conn:
                done = conn.execute(
                    policies.update()
                    .where(policies.c.id == policy.id, policies.c.project_id == policy.project_id)
                    .values(**_values(policy))
                ).rowcount
        except IntegrityError:
            raise AlreadyExists(
                f"webhook policy {policy.name!r} already exists in this project",
                hint="choose another name",
            ) from None
        if not done:
            raise NotFound(f"webhook policy {policy.id} not found in this project")
        return policy

    def delete(self, project_id: int, policy_id: int) -> None:
        """The policy, its executions and its tasks (pending deliveries are dropped)."""
        with self.db.write() as conn:
            done = conn.execute(
                policies.delete().where(
                    policies.c.id == policy_id, policies.c.project_id == project_id
                )
            ).rowcount
            if not done:
                raise NotFound(f"webhook policy {policy_id} not found in this project")
            ran = select(executions.c.id).where(executions.c.policy_id == policy_id)
            conn.execute(tasks.delete().where(tasks.c.execution_id.in_(ran)))
            conn.execute(executions.delete().where(executions.c.policy_id == policy_id))


def forget_project(conn: Connection, project_id: int) -> None:
    """A deleted project's policies, their executions and tasks (pending deliveries are
    dropped), inside the caller's transaction."""
    mine = select(policies.c.id).where(policies.c.project_id == project_id)
    ran = select(executions.c.id).where(executions.c.policy_id.in_(mine))
    conn.execute(tasks.delete().where(tasks.c.execution_id.in_(ran)))
    conn.execute(executions.delete().where(executions.c.policy_id.in_(mine)))
    conn.execute(policies.delete().where(policies.c.project_id == project_id))


def new_policy(
    project_id: int,
    body: dict[str, Any],
    *,
    creator: str,
    base: Policy | None = None,
) -> Policy:
    """A policy from Harbor's ``WebhookPolicy`` JSON (``base``: the one being updated; fields
    missing from ``body`` keep their values). ``secret`` is dockyard's own, write-only field."""
    name = body.get("name", base.name if base else None)
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidArgument("a webhook policy needs a name (at most 255 characters)")
    targets_raw = body.get("targets")
    targets: Sequence[Target]
    if targets_raw is None and base is not None:
        targets = base.targets
    else:
        if not isinstance(targets_raw, list) or not targets_raw:
            raise InvalidArgument("targets must be a non-empty list of {type, address, …}")
        targets = [parse_target(t) for t in targets_raw]
    if "event_types" in body or base is None:
        event_types = check_event_types(body.get("event_types"))
    else:
        event_types = base.event_types
    description = body.get("description", base.description if base else "") or ""
    enabled = body.get("enabled", base.enabled if base else True)
    secret = body.get("secret", base.secret if base else "") or ""
    if not isinstance(description, str) or not isinstance(enabled, bool):
        raise InvalidArgument("description must be a string and enabled a boolean")
    if not isinstance(secret, str) or len(secret) > 255:
        raise InvalidArgument("secret must be a string of at most 255 characters")
    if len(description) > 1024:  # the column's size (PostgreSQL enforces it, SQLite does not)
        raise InvalidArgument("description must be at most 1024 characters; shorten it")
    return Policy(
        id=base.id if base else 0,
        project_id=project_id,
        name=name.strip(),
        event_types=event_types,
        targets=tuple(targets),
        description=description,
        enabled=enabled,
        secret=secret,
        creator=base.creator if base else creator,
        creation_time=base.creation_time if base else 0.0,
    )
