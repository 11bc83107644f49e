"""Project members: users and groups, each with one of Harbor's five roles in the project.

A group member matches a user whose identity carries the group's name or (for LDAP groups)
its DN, compared without regard to case as LDAP compares DNs.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import Any, Literal

from sqlalchemy import Connection, and_, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.registry.access._names import MAX_NAME
from dockyard.registry.access._records import Member, Page, check_paging
from dockyard.registry.access._roles import role_of
from dockyard.registry.access._schema import groups, members, new_id, users
from dockyard.registry.metadata import Database

__all__ = ["GROUP_TYPES", "Group", "MemberStore"]

#: Harbor's user-group types.
GROUP_TYPES = {1: "ldap", 2: "http", 3: "oidc"}

Group = tuple[int, str, int, str]  # id, name, group_type, ldap_group_dn


def _group_match(names: Iterable[str]) -> Any:
    wanted = sorted({n.lower() for n in names if n})
    if not wanted:
        return None
    return or_(
        func.lower(groups.c.name).in_(wanted), func.lower(groups.c.ldap_group_dn).in_(wanted)
    )


class MemberStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    # --- groups -------------------------------------------------------------------------

    def ensure_group(self, name: str, *, group_type: int = 1, ldap_group_dn: str = "") -> Group:
        """The group with this name and type, made if new."""
        if not 1 <= len(name) <= MAX_NAME or len(ldap_group_dn) > 512:
            raise InvalidArgument("a group name must be 1 to 255 characters (a DN at most 512)")
        if group_type not in GROUP_TYPES:
            raise InvalidArgument(f"group_type {group_type} is not 1 (LDAP), 2 (HTTP) or 3 (OIDC)")
        query = select(groups).where(groups.c.name == name, groups.c.group_type == group_type)
        with self._db.read() as conn:
            row = conn.execute(query).first()
        if row is None:
            try:
                with self._db.write() as conn:
                    conn.execute(
                        groups.insert().values(
                            name=name, group_type=group_type, ldap_group_dn=ldap_group_dn,
                            created_at=self._clock(),
                        )
                    )  # fmt: skip
            except IntegrityError:
                pass  # made by someone else meanwhile
            with self._db.read() as conn:
                row = conn.execute(query).one()
        return (row.id, row.name, row.group_type, row.ldap_group_dn)

    # --- members ------------------------------------------------------------------------

    def add(
        self, project_id: int, *, entity_type: Literal["u", "g"], entity_id: int, role_id: int
    ) -> Member:
        role_of(role_id)
        now = self._clock()
        self._check_entity(entity_type, entity_id)
        try:
            with self._db.write() as conn:
                member_id = new_id(conn.execute(
                    members.insert().values(
                        project_id=project_id, entity_type=entity_type, entity_id=entity_id,
                        role_id=role_id, created_at=now, updated_at=now,
                    )
                ))  # fmt: skip
        except IntegrityError:
            raise AlreadyExists(
                "that member is already in the project", hint="update its role instead"
            ) from None
        return self.get(project_id, int(member_id))

    def _check_entity(self, entity_type: str, entity_id: int) -> None:
        if entity_type not in ("u", "g"):
            raise InvalidArgument(f"member type {entity_type!r} is not 'u' (user) or 'g' (group)")
        source = users if entity_type == "u" else groups
        with self._db.read() as conn:
            found = conn.execute(select(source.c.id).where(source.c.id == entity_id)).first()
        if found is None:
            what = "user" if entity_type == "u" else "group"
            raise NotFound(f"{what} {entity_id} does not exist", hint=f"create the {what} first")

    def update(self, project_id: int, member_id: int, role_id: int) -> Member:
        role_of(role_id)
        with self._db.write() as conn:
            done = conn.execute(
                members.update()
                .where(members.c.id == member_id, members.c.project_id == project_id)
                .values(role_id=role_id, updated_at=self._clock())
            )
        if done.rowcount == 0:
            raise NotFound(f"member {member_id} is not in this project")
        return self.get(project_id, member_id)

    def remove(self, project_id: int, member_id: int) -> Member:
        member = self.get(project_id, member_id)
        with self._db.write() as conn:
            conn.execute(members.delete().where(members.c.id == member_id))
        return member

    def get(self, project_id: int, member_id: int) -> Member:
        with self._db.read() as conn:
            found = self._select(conn, and_(members.c.project_id == project_id,
                                            members.c.id == member_id), None)  # fmt: skip
        if not found:
            raise NotFound(f"member {member_id} is not in this project", hint="list the members")
        return found[0]

    def list(
        self, project_id: int, *, entityname: str | None = None, page: int = 1,
        page_size: int = 10,
    ) -> Page[Member]:  # fmt: skip
        """Members ordered by id; ``entityname``: the user or group name contains it."""
        offset, limit = check_paging(page, page_size)
        cond: Any = members.c.project_id == project_id
        with self._db.read() as conn:
            everything = self._select(conn, cond, None)
        if entityname is not None:
            everything = [m for m in everything if entityname in m.entity_name]
        return Page(everything[offset : offset + limit], len(everything), page, page_size)

    def _select(self, conn: Connection, cond: Any, limit: int | None) -> builtins.list[Member]:
        named = union_all(
            select(literal("u").label("t"), users.c.id.label("eid"), users.c.username.label("n")),
            select(literal("g").label("t"), groups.c.id.label("eid"), groups.c.name.label("n")),
        ).subquery()
        query = (
            select(members, named.c.n)
            .select_from(
                members.outerjoin(
                    named,
                    and_(named.c.t == members.c.entity_type, named.c.eid == members.c.entity_id),
                )
            )
            .where(cond)
            .order_by(members.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            Member(
                id=r.id, project_id=r.project_id, entity_type=r.entity_type,
                entity_id=r.entity_id, entity_name=r.n or "", role_id=r.role_id,
                role_name=role_of(r.role_id).harbor_name,
            )
            for r in conn.execute(query)
        ]  # fmt: skip

    # --- what a principal is where ------------------------------------------------------

    def roles(
        self, user_id: int | None, group_names: Iterable[str], *, project_id: int | None = None
    ) -> dict[int, set[int]]:
        """project id → the role ids a user (and the groups it is in) holds there (in
        ``project_id`` only, when given)."""
        conds: builtins.list[Any] = []
        if user_id is not None:
            conds.append(and_(members.c.entity_type == "u", members.c.entity_id == user_id))
        match = _group_match(group_names)
        if match is not None:
            conds.append(
                and_(members.c.entity_type == "g",
                     members.c.entity_id.in_(select(groups.c.id).where(match)))
            )  # fmt: skip
        if not conds:
            return {}
        query = select(members.c.project_id, members.c.role_id).where(or_(*conds))
        if project_id is not None:
            query = query.where(members.c.project_id == project_id)
        out: dict[int, set[int]] = {}
        with self._db.read() as conn:
            rows = conn.execute(query)
            for project_id, role_id in rows:
                out.setdefault(project_id, set()).add(role_id)
        return out
