"""Robot accounts, as Harbor 2.x: system level (permissions in many projects and the system) or
project level (one project), a secret shown once, a lifetime in days (-1: never expires).

Login names are ``robot$<name>`` and ``robot$<project>+<name>``. The secret is stored as a
SHA-256 hash; refreshing it makes the old one stop working at once.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.registry.access._names import ROBOT_PREFIX, check_robot_name
from dockyard.registry.access._records import (
    Access,
    Page,
    Robot,
    RobotPermission,
    check_paging,
)
from dockyard.registry.access._roles import PROJECT_ROBOT_ACCESS, SYSTEM_ROBOT_ACCESS
from dockyard.registry.access._schema import (
    delete_robot_rows,
    new_id,
    projects,
    robot_permissions,
    robots,
)
from dockyard.registry.access._secrets import check_strong_password, hash_secret, new_secret
from dockyard.registry.metadata import Database

__all__ = ["MAX_ACCESSES", "MAX_PERMISSIONS", "RobotSecretRow", "RobotStore"]

DAY = 86400
#: Harbor: a duration is -1 (never) or a positive number of days below 2^31.
MAX_DURATION = 2**31 - 1
#: Bounds on one robot's permission list.
MAX_PERMISSIONS = 256
MAX_ACCESSES = 256

RobotSecretRow = tuple[int, str, bool, int]  # id, secret_hash, disabled, expires_at


def _stored_name(login_name: str) -> str | None:
    return login_name[len(ROBOT_PREFIX) :] if login_name.startswith(ROBOT_PREFIX) else None


def _check_duration(duration: int) -> None:
    if not (duration == -1 or 0 < duration < MAX_DURATION):
        raise InvalidArgument(
            f"duration {duration} is not valid",
            hint="give a number of days, or -1 for a robot that never expires",
        )


class RobotStore:
    def __init__(self, db: Database, *, clock: Callable[[], float]) -> None:
        self._db = db
        self._clock = clock

    # --- validation ---------------------------------------------------------------------

    def _resolve(
        self, conn: Connection, level: str, permissions: Sequence[RobotPermission]
    ) -> tuple[int | None, str | None, builtins.list[dict[str, Any]]]:
        """(project id, project name) of a project robot, and the permission rows; refuses
        what Harbor refuses."""
        if level not in ("system", "project"):
            raise InvalidArgument(f"robot level {level!r} is not 'system' or 'project'")
        if not permissions:
            raise InvalidArgument("a robot needs at least one permission", hint="add one")
        if len(permissions) > MAX_PERMISSIONS:
            raise InvalidArgument(f"a robot may have at most {MAX_PERMISSIONS} permissions")
        if level == "project" and (
            len(permissions) != 1
            or permissions[0].kind != "project"
            or permissions[0].namespace in ("*", "/")
        ):
            raise InvalidArgument(
                "a project robot needs exactly one permission, of kind 'project', naming its "
                "project",
                hint="use a system robot for several projects",
            )
        rows: builtins.list[dict[str, Any]] = []
        project_id: int | None = None
        project_name: str | None = None
        for perm in permissions:
            if not perm.access:
                raise InvalidArgument(f"permission for {perm.namespace!r} has no access")
            if len(perm.access) > MAX_ACCESSES:
                raise InvalidArgument(f"a permission may list at most {MAX_ACCESSES} accesses")
            pid: int | None = None
            if perm.kind == "system":
                if perm.namespace != "/":
                    raise InvalidArgument(
                        f"a system permission's namespace must be '/', not {perm.namespace!r}"
                    )
                allowed = SYSTEM_ROBOT_ACCESS
            elif perm.kind == "project":
                allowed = PROJECT_ROBOT_ACCESS
                if perm.namespace != "*":
                    found = conn.execute(
                        select(projects.c.id).where(projects.c.name == perm.namespace)
                    ).first()
                    if found is None:
                        raise NotFound(
                            f"project {perm.namespace[:80]!r} does not exist",
                            hint="create the project first, or use '*' for every project",
                        )
                    pid = found.id
                    project_id, project_name = pid, perm.namespace
            else:
                raise InvalidArgument(f"permission kind {perm.kind!r} is not 'system' or 'project'")
            for acc in perm.access:
                if acc.effect != "allow":
                    raise InvalidArgument(
                        f"access effect {acc.effect!r} is not supported", hint="use 'allow'"
                    )
                if (acc.resource, acc.action) not in allowed:
                    raise InvalidArgument(
                        f"bad request permission: {acc.resource[:64]}:{acc.action[:32]} is not "
                        f"a {perm.kind}-level access a robot may hold",
                        hint="see Harbor's robot permission list (e.g. repository:pull)",
                    )
                rows.append(
                    {"kind": perm.kind, "project_id": pid, "namespace": perm.namespace,
                     "resource": acc.resource, "action": acc.action, "effect": "allow"}
                )  # fmt: skip
        if level == "system":
            project_id = project_name = None
        # duplicates would break the unique constraint: keep the first of each
        unique = {(r["kind"], r["namespace"], r["resource"], r["action"]): r for r in rows}
        return project_id, project_name, list(unique.values())

    # --- writing ------------------------------------------------------------------------

    def create(
        self,
        name: str,
        *,
        level: Literal["system", "project"],
        permissions: Sequence[RobotPermission],
        duration: int,
        description: str = "",
        disabled: bool = False,
        secret: str | None = None,
        creator_ref: int = 0,
        creator_type: str = "local",
    ) -> tuple[Robot, str]:
        """The new robot and its secret (shown once). ``secret``: a chosen one (Harbor's
        password rule), else a random one. AlreadyExists when the login name is taken."""
        check_robot_name(name)
        _check_duration(duration)
        if len(description) > 1024:
            raise InvalidArgument("a robot description is at most 1024 characters")
        if secret is not None:
            check_strong_password(secret)
        value = secret if secret is not None else new_secret()
        now = self._clock()
        expires = -1 if duration == -1 else int(now) + duration * DAY
        try:
            with self._db.write() as conn:
                project_id, project_name, rows = self._resolve(conn, level, permissions)
                stored = name if project_name is None else f"{project_name}+{name}"
                robot_id = int(
                    new_id(conn.execute(
                        robots.insert().values(
                            name=stored, description=description, secret_hash=hash_secret(value),
                            project_id=project_id, duration=duration, expires_at=expires,
                            disabled=disabled, creator_ref=creator_ref,
                            creator_type=creator_type, created_at=now, updated_at=now,
                        )
                    ))
                )  # fmt: skip
                conn.execute(
                    robot_permissions.insert(), [{**r, "robot_id": robot_id} for r in rows]
                )
        except IntegrityError:
            login = ROBOT_PREFIX + (name if project_name is None else f"{project_name}+{name}")
            raise AlreadyExists(
                f"robot {login} already exists", hint="choose another name"
            ) from None
        return self.get(robot_id), value

    def update(
        self,
        robot_id: int,
        *,
        description: str | None = None,
        disabled: bool | None = None,
        duration: int | None = None,
        permissions: Sequence[RobotPermission] | None = None,
    ) -> Robot:
        """Change what Harbor lets change; a new ``duration`` counts from the robot's creation
        (as Harbor). A project robot's project cannot change."""
        robot = self.get(robot_id)
        values: dict[str, object] = {"updated_at": self._clock()}
        if description is not None:
            if len(description) > 1024:
                raise InvalidArgument("a robot description is at most 1024 characters")
            values["description"] = description
        if disabled is not None:
            values["disabled"] = disabled
        if duration is not None:
            _check_duration(duration)
            values["duration"] = duration
            values["expires_at"] = -1 if duration == -1 else int(robot.created_at) + duration * DAY
        with self._db.write() as conn:
            if permissions is not None:
                project_id, _, rows = self._resolve(conn, robot.level, permissions)
                if robot.level == "project" and project_id != robot.project_id:
                    raise InvalidArgument("cannot change the project of a project robot")
                conn.execute(
                    robot_permissions.delete().where(robot_permissions.c.robot_id == robot_id)
                )
                conn.execute(
                    robot_permissions.insert(), [{**r, "robot_id": robot_id} for r in rows]
                )
            conn.execute(robots.update().where(robots.c.id == robot_id).values(**values))
        return self.get(robot_id)

    def refresh_secret(self, robot_id: int, secret: str | None = None) -> str:
        """A new secret (returned once); the old one stops working immediately."""
        if secret is not None:
            check_strong_password(secret)
        value = secret if secret is not None else new_secret()
        with self._db.write() as conn:
            done = conn.execute(
                robots.update()
                .where(robots.c.id == robot_id)
                .values(secret_hash=hash_secret(value), updated_at=self._clock())
            )
        if done.rowcount == 0:
            raise NotFound(f"robot {robot_id} does not exist")
        return value

    def delete(self, robot_id: int) -> Robot:
        robot = self.get(robot_id)
        with self._db.write() as conn:
            delete_robot_rows(conn, [robot_id])
        return robot

    # --- reading ------------------------------------------------------------------------

    def get(self, robot_id: int) -> Robot:
        with self._db.read() as conn:
            found = self._select(conn, robots.c.id == robot_id, None, None)
        if not found:
            raise NotFound(f"robot {robot_id} does not exist", hint="list robots to find the id")
        return found[0]

    def by_login_name(self, login_name: str) -> Robot | None:
        stored = _stored_name(login_name)
        if stored is None:
            return None
        with self._db.read() as conn:
            found = self._select(conn, robots.c.name == stored, None, None)
        return found[0] if found else None

    def secret_row(self, login_name: str) -> RobotSecretRow | None:
        """What a login checks (id, secret hash, disabled, expires_at)."""
        stored = _stored_name(login_name)
        if stored is None:
            return None
        with self._db.read() as conn:
            row = conn.execute(
                select(robots.c.id, robots.c.secret_hash, robots.c.disabled, robots.c.expires_at)
                .where(robots.c.name == stored)
            ).first()  # fmt: skip
        return None if row is None else (row.id, row.secret_hash, row.disabled, row.expires_at)

    def list(
        self,
        *,
        level: Literal["system", "project"] | None = None,
        project_id: int | None = None,
        name: str | None = None,
        page: int = 1,
        page_size: int = 10,
    ) -> Page[Robot]:
        """Robots by id; ``project_id``: that project's robots; ``name``: contains it."""
        offset, limit = check_paging(page, page_size)
        conds: builtins.list[Any] = []
        if level == "system":
            conds.append(robots.c.project_id.is_(None))
        elif level == "project":
            conds.append(robots.c.project_id.is_not(None))
        if project_id is not None:
            conds.append(robots.c.project_id == project_id)
        if name is not None:
            conds.append(robots.c.name.icontains(name, autoescape=True))
        with self._db.read() as conn:
            total = conn.execute(
                select(func.count()).select_from(robots).where(*conds)
            ).scalar_one()
            items = self._select(conn, conds, offset, limit)
        return Page(items, int(total), page, page_size)

    def permissions(self, robot_id: int) -> builtins.list[tuple[str, int | None, str, str, str]]:
        """(kind, project id, namespace, resource, action) rows of one robot."""
        with self._db.read() as conn:
            rows = conn.execute(
                select(
                    robot_permissions.c.kind, robot_permissions.c.project_id,
                    robot_permissions.c.namespace, robot_permissions.c.resource,
                    robot_permissions.c.action,
                ).where(robot_permissions.c.robot_id == robot_id)
            ).all()  # fmt: skip
        return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def _select(
        self, conn: Connection, cond: Any, offset: int | None, limit: int | None
    ) -> builtins.list[Robot]:
        query = select(robots).order_by(robots.c.id)
        conds = cond if isinstance(cond, list) else [cond]
        if conds:
            query = query.where(*conds)
        if offset is not None:
            query = query.offset(offset).limit(limit)
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        perms: dict[int, dict[tuple[str, str], builtins.list[Access]]] = {i: {} for i in ids}
        if ids:
            for p in conn.execute(
                select(robot_permissions, projects.c.name.label("project_name"))
                .select_from(
                    robot_permissions.outerjoin(
                        projects, projects.c.id == robot_permissions.c.project_id
                    )
                )
                .where(robot_permissions.c.robot_id.in_(ids))
                .order_by(robot_permissions.c.id)
            ):
                ns = p.project_name if p.project_id is not None else p.namespace
                perms[p.robot_id].setdefault((p.kind, ns), []).append(
                    Access(p.resource, p.action, p.effect)
                )
        return [
            Robot(
                id=r.id, name=ROBOT_PREFIX + r.name, description=r.description,
                level="system" if r.project_id is None else "project", project_id=r.project_id,
                duration=r.duration, expires_at=r.expires_at, disabled=r.disabled,
                permissions=tuple(
                    RobotPermission(kind, ns, tuple(acc))  # type: ignore[arg-type]
                    for (kind, ns), acc in perms[r.id].items()
                ),
                creator_ref=r.creator_ref, creator_type=r.creator_type,
                created_at=r.created_at, updated_at=r.updated_at,
            )
            for r in rows
        ]  # fmt: skip
