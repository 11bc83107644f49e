"""AccessService: the access model behind one object — the token service's ``Granter``
(``authenticate`` + ``grant``), the API's ``ApiSecurity`` (``identify`` + ``can``), and the
audited changes the API and CLI make (projects, members, robots).

The stores it is made of are public attributes (``users``, ``projects``, ``members``,
``robots``, ``quotas``, ``audit``) for reads and for changes that need no audit entry.
"""

from __future__ import annotations

import builtins
import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import timedelta
from typing import Literal

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.registry.access._audit import AuditLog
from dockyard.registry.access._config import AccessConfig
from dockyard.registry.access._directory import Directory
from dockyard.registry.access._lockout import Lockout
from dockyard.registry.access._login import Checker
from dockyard.registry.access._members import MemberStore
from dockyard.registry.access._names import ROBOT_PREFIX
from dockyard.registry.access._permissions import (
    ANONYMOUS_SYSTEM_POLICIES,
    USER_SYSTEM_POLICIES,
    grant_scopes,
    role_policies,
)
from dockyard.registry.access._projects import ProjectStore
from dockyard.registry.access._quotas import QuotaStore
from dockyard.registry.access._records import Member, Page, Project, Robot, RobotPermission
from dockyard.registry.access._robots import RobotStore
from dockyard.registry.access._roles import PUBLIC_PROJECT_POLICIES, Policy
from dockyard.registry.access._schema import metadata
from dockyard.registry.access._users import UserStore
from dockyard.registry.auth import (
    AuthenticationRequired,
    basic_challenge,
    parse_basic_authorization,
)
from dockyard.registry.identity import ANONYMOUS, Identity, Scope
from dockyard.registry.metadata import Database

__all__ = ["AccessService"]

#: Seconds within which repeated Basic logins of one user from one address are one audit
#: entry; how many (user, address) pairs are remembered (least recently used forgotten).
LOGIN_WINDOW = 600.0
LOGIN_KEYS = 10_000


class AccessService:
    def __init__(
        self,
        db: Database,
        config: AccessConfig | None = None,
        *,
        directory: Directory | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config or AccessConfig()
        self._db = db
        self._clock = clock
        self._sleep = sleep
        db.create_tables(metadata)
        self.users = UserStore(db, cost=self.config.password_cost, clock=clock)
        self.projects = ProjectStore(db, clock=clock)
        self.members = MemberStore(db, clock=clock)
        self.robots = RobotStore(db, clock=clock)
        self.quotas = QuotaStore(db, clock=clock)
        self.audit = AuditLog(db, clock=clock, max_rows=self.config.audit_max_rows)
        #: called with a deleted project's id: what other features keep per project goes too
        #: (a later project may get the same id)
        self.on_project_deleted: list[Callable[[int], None]] = []
        self.lockout = Lockout(self.config.lockout, clock=clock, db=db)
        #: where non-local users are checked (LDAP), or None
        self.directory = directory
        self._checker = Checker(
            self.users, self.robots, self.members, cost=self.config.password_cost, clock=clock,
            directory=directory,
        )  # fmt: skip
        self.challenge = basic_challenge(self.config.realm)
        #: (user, address) → when its last login was audited (see :meth:`identify`)
        self._logins: OrderedDict[tuple[str, str], float] = OrderedDict()
        #: where successful logins go, (username, client_ip), instead of one write each: the
        #: server's batched audit writer; None: written at once
        self.login_audit: Callable[[str, str], None] | None = None
        self._logins_lock = threading.Lock()

    # --- who: Granter.authenticate and ApiSecurity.identify ---------------------------------

    def authenticate(self, username: str, password: str, *, client_ip: str) -> Identity:
        """The identity these credentials belong to. AuthenticationRequired when they are
        wrong (or the robot is disabled or expired); TooManyRequests when this address or name
        has failed too often (the credentials are then not checked at all). Every success is
        audited as a ``login`` (what the token service calls: one per token issued; through
        :attr:`login_audit` when set, where repeats are merged)."""
        identity = self._check(username, password, client_ip)
        self._logged_in(username, client_ip)
        return identity

    def _check(self, username: str, password: str, client_ip: str) -> Identity:
        standing = self.lockout.standing(client_ip, username)
        if standing.delay:
            self._sleep(standing.delay)
        verdict = self._checker.check(username, password)
        if verdict.identity is None:
            self._failed(username, client_ip, verdict.reason)
            raise AuthenticationRequired(
                f"authentication failure for {username[:80]!r}", challenge=self.challenge
            )
        if standing.counted:  # a clean login writes nothing
            self.lockout.succeed(client_ip, username)
        return verdict.identity

    def _logged_in(self, username: str, client_ip: str, *, once: bool = False) -> None:
        """Audit a successful login; ``once``: only the first of (user, address) within
        ``LOGIN_WINDOW`` seconds (credentials sent with every request are one login)."""
        key = (username, client_ip)
        now = self._clock()
        with self._logins_lock:
            last = self._logins.get(key)
            if once and last is not None and now - last < LOGIN_WINDOW:
                return
            self._logins[key] = now
            self._logins.move_to_end(key)
            while len(self._logins) > LOGIN_KEYS:
                self._logins.popitem(last=False)
        if self.login_audit is not None:
            self.login_audit(username, client_ip)
            return
        self.audit.record("login", "user", username, username, client_ip=client_ip, ok=True)

    def _failed(self, username: str, client_ip: str, reason: str) -> None:
        with self._logins_lock:  # the next success is a login worth an entry again
            self._logins.pop((username, client_ip), None)
        self.audit.record(
            "login", "user", username, username, client_ip=client_ip, ok=False,
            description=reason,
        )  # fmt: skip
        policy = self.lockout.policy
        for key, count in self.lockout.fail(client_ip, username):
            kind, _, value = key.partition(":")
            self.audit.record(
                "login_lockout", "client" if kind == "ip" else "user", value, username,
                client_ip=client_ip, ok=False,
                description=f"{count} failed logins within {policy.window:.0f}s: refused until "
                "they age out",
            )  # fmt: skip

    def identify(self, authorization: str | None, *, client_ip: str) -> Identity:
        """ANONYMOUS without credentials; the identity of Basic credentials; else
        AuthenticationRequired (a malformed or non-Basic header included). Credentials sent
        with every request (API calls, ``/v2/``) are audited as one ``login`` per user and
        address within ``LOGIN_WINDOW`` seconds; every failure is audited."""
        if authorization is None or not authorization.strip():
            return ANONYMOUS
        parsed = parse_basic_authorization(authorization)
        if parsed is None:
            raise AuthenticationRequired(
                "credentials must be HTTP Basic (user:password)", challenge=self.challenge
            )
        username, raw = parsed
        try:
            password = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise AuthenticationRequired(
                "the password is not UTF-8", challenge=self.challenge
            ) from None
        identity = self._check(username, password, client_ip)
        self._logged_in(username, client_ip, once=True)
        return identity

    def identity_of(self, subject: str) -> Identity | None:
        """The identity a token subject (a user or robot name) names now, or None when the
        account is gone, disabled or expired (the token service's ``SubjectLookup``: a refresh
        token is honoured only while this answers). A directory user is looked up in the
        directory again, for their current groups; None when the directory no longer lists
        them (or cannot be reached)."""
        if subject.startswith(ROBOT_PREFIX):
            row = self.robots.secret_row(subject)
            if row is None:
                return None
            robot = Identity(kind="robot", name=subject, id=row[0])
            return self._current(robot)
        creds = self.users.credentials(subject)
        if creds is None:
            return None
        if creds.source == "local":
            return Identity(kind="user", name=subject, id=creds.id, sysadmin=creds.sysadmin)
        if self.directory is None:
            return None
        find = getattr(self.directory, "find", None)
        if find is None:
            return None
        try:
            entry = find(subject)
        except Unavailable:
            return None
        if entry is None:
            return None
        groups = tuple(g.lower() for g in entry.groups)
        return Identity(
            kind="user", name=subject, id=creds.id, sysadmin=creds.sysadmin or entry.admin,
            groups=groups,
        )  # fmt: skip

    # --- what: ApiSecurity.can and Granter.grant ----------------------------------------

    def _current(self, identity: Identity) -> Identity | None:
        """The identity as the database sees it now: a deleted account holds nothing, a
        demoted admin is no longer one, a disabled or expired robot holds nothing."""
        if identity.kind == "anonymous":
            return identity
        if identity.id is None:
            return None
        if identity.kind == "user":
            creds = self.users.credentials(identity.name)
            if creds is None or creds.id != identity.id:
                return None
            return dataclasses.replace(identity, sysadmin=creds.sysadmin)
        row = self.robots.secret_row(identity.name)
        if row is None or row[0] != identity.id or row[2]:
            return None
        if row[3] != -1 and self._clock() >= row[3]:
            return None
        return identity

    def _system_policies(self, identity: Identity) -> frozenset[Policy]:
        if identity.kind == "anonymous":
            return ANONYMOUS_SYSTEM_POLICIES
        if identity.kind == "user":
            return USER_SYSTEM_POLICIES
        assert identity.id is not None
        return frozenset(
            (resource, action)
            for kind, _, _, resource, action in self.robots.permissions(identity.id)
            if kind == "system"
        )

    def _project_policies(
        self, identity: Identity, project_id: int, public: bool
    ) -> frozenset[Policy]:
        if identity.kind == "anonymous":
            return PUBLIC_PROJECT_POLICIES if public else frozenset()
        if identity.kind == "user":
            roles = self.members.roles(identity.id, identity.groups, project_id=project_id)
            return role_policies(roles.get(project_id, ()), public)
        assert identity.id is not None
        held = {
            (resource, action)
            for kind, pid, namespace, resource, action in self.robots.permissions(identity.id)
            if kind == "project" and (pid == project_id or namespace == "*")
        }
        if public:
            held |= PUBLIC_PROJECT_POLICIES
        return frozenset(held)

    def _policies(self, current: Identity, project: str | None) -> frozenset[Policy]:
        if project is None:
            return self._system_policies(current)
        ref = self.projects.ref(project)
        return frozenset() if ref is None else self._project_policies(current, *ref)

    def policies(self, identity: Identity, project: str | None) -> frozenset[Policy]:
        """Every (resource, action) ``identity`` holds in ``project`` (None: system level);
        empty for a project that does not exist. System admins: see :meth:`can`."""
        current = self._current(identity)
        return frozenset() if current is None else self._policies(current, project)

    def can(self, identity: Identity, project: str | None, resource: str, action: str) -> bool:
        """Harbor's RBAC question (see dockyard.registry.access._permissions)."""
        current = self._current(identity)
        if current is None:
            return False
        if current.kind == "user" and current.sysadmin:
            return True
        return (resource, action) in self._policies(current, project)

    def grant(self, identity: Identity, requested: Sequence[Scope]) -> list[Scope]:
        """The subset of ``requested`` this identity may have (never more)."""
        current = self._current(identity)
        if current is None:
            return []
        sysadmin = current.kind == "user" and current.sysadmin
        return grant_scopes(
            current, requested, sysadmin=sysadmin,
            policies_in=lambda project: self._policies(current, project),
        )  # fmt: skip

    # --- listing with the caller's view -------------------------------------------------

    def list_projects(
        self,
        identity: Identity,
        *,
        name: str | None = None,
        public: bool | None = None,
        owner: str | None = None,
        page: int = 1,
        page_size: int = 10,
        names: Collection[str] | None = None,
    ) -> Page[Project]:
        """Projects ``identity`` may see (admins: all; others: public ones and their own),
        each with the caller's role ids (``current_user_role_ids``). ``name``: the name
        contains it; ``names``: the name is one of these."""
        current = self._current(identity) or ANONYMOUS
        roles: dict[int, set[int]] = {}
        visible: builtins.list[int] | None
        if current.kind == "user" and current.sysadmin:
            visible = None
            roles = self.members.roles(current.id, current.groups)
        elif current.kind == "user":
            roles = self.members.roles(current.id, current.groups)
            visible = list(roles)
        elif current.kind == "robot" and current.id is not None:
            perms = self.robots.permissions(current.id)
            everywhere = any(k == "project" and ns == "*" for k, _, ns, _, _ in perms)
            visible = None if everywhere else [p for _, p, _, _, _ in perms if p is not None]
        else:
            visible = []
        found = self.projects.list(
            name=name, public=public, owner=owner, visible_ids=visible, page=page,
            page_size=page_size, names=names,
        )  # fmt: skip
        items = [
            dataclasses.replace(p, current_user_role_ids=tuple(sorted(roles.get(p.id, ()))))
            for p in found.items
        ]
        return dataclasses.replace(found, items=items)

    # --- audited changes ----------------------------------------------------------------

    def create_project(
        self,
        actor: Identity,
        name: str,
        *,
        public: bool = False,
        metadata: Mapping[str, object] | None = None,
        storage_limit: int = -1,
        client_ip: str = "",
        registry_id: int | None = None,
    ) -> Project:
        """A project owned by ``actor`` (a user becomes its projectAdmin); ``registry_id``
        makes it a proxy cache of that endpoint registry."""
        owner = actor.id if actor.kind == "user" else None
        project = self.projects.create(
            name, owner_id=owner, public=public, metadata=metadata, storage_limit=storage_limit,
            registry_id=registry_id,
        )  # fmt: skip
        self.audit.record("create", "project", name, actor.name, name, client_ip)
        return project

    def update_project(
        self, actor: Identity, project: str, metadata: Mapping[str, object], *,
        client_ip: str = "",
    ) -> Project:  # fmt: skip
        updated = self.projects.update_metadata(project, metadata)
        self.audit.record("update", "project", updated.name, actor.name, updated.name, client_ip)
        return updated

    def delete_project(
        self, actor: Identity, project: str, *, force: bool = False, client_ip: str = ""
    ) -> Project:
        deleted = self.projects.delete(project, force=force)
        self.audit.record("delete", "project", deleted.name, actor.name, deleted.name, client_ip)
        for forget in self.on_project_deleted:
            forget(deleted.id)
        return deleted

    def add_member(
        self,
        actor: Identity,
        project: str,
        *,
        role_id: int,
        username: str | None = None,
        group: str | None = None,
        group_type: int = 1,
        ldap_group_dn: str = "",
        client_ip: str = "",
    ) -> Member:
        """Add a user (by name) or a group (by name, made if new) to ``project``."""
        if (username is None) == (group is None):
            raise InvalidArgument("name either a user or a group to add as a member")
        found = self.projects.get(project)
        entity_type: Literal["u", "g"]
        if username is not None:
            entity_type, entity_id = "u", self.users.by_name(username).id
        else:
            assert group is not None
            entity_type = "g"
            entity_id = self.members.ensure_group(
                group, group_type=group_type, ldap_group_dn=ldap_group_dn
            )[0]
        member = self.members.add(
            found.id, entity_type=entity_type, entity_id=entity_id, role_id=role_id
        )
        self._audit_member("create", actor, found.name, member, client_ip)
        return member

    def update_member(
        self, actor: Identity, project: str, member_id: int, role_id: int, *, client_ip: str = ""
    ) -> Member:
        found = self.projects.get(project)
        member = self.members.update(found.id, member_id, role_id)
        self._audit_member("update", actor, found.name, member, client_ip)
        return member

    def remove_member(
        self, actor: Identity, project: str, member_id: int, *, client_ip: str = ""
    ) -> Member:
        found = self.projects.get(project)
        member = self.members.remove(found.id, member_id)
        self._audit_member("delete", actor, found.name, member, client_ip)
        return member

    def _audit_member(
        self, operation: str, actor: Identity, project: str, member: Member, client_ip: str
    ) -> None:
        self.audit.record(
            operation, "project_member", f"{project}:{member.entity_name}", actor.name, project,
            client_ip, description=f"role {member.role_name}",
        )  # fmt: skip

    def create_robot(
        self,
        actor: Identity,
        name: str,
        *,
        level: Literal["system", "project"],
        permissions: Sequence[RobotPermission],
        duration: int,
        description: str = "",
        disabled: bool = False,
        secret: str | None = None,
        client_ip: str = "",
    ) -> tuple[Robot, str]:
        """The robot and its secret (shown once): ``secret`` a chosen one, else made up."""
        robot, secret = self.robots.create(
            name, level=level, permissions=permissions, duration=duration,
            description=description, disabled=disabled, secret=secret,
            creator_ref=actor.id or 0, creator_type=actor.kind,
        )  # fmt: skip
        self._audit_robot("create", actor, robot, client_ip)
        return robot, secret

    def update_robot(
        self,
        actor: Identity,
        robot_id: int,
        *,
        description: str | None = None,
        disabled: bool | None = None,
        duration: int | None = None,
        permissions: Sequence[RobotPermission] | None = None,
        client_ip: str = "",
    ) -> Robot:
        robot = self.robots.update(
            robot_id, description=description, disabled=disabled, duration=duration,
            permissions=permissions,
        )  # fmt: skip
        self._audit_robot("update", actor, robot, client_ip)
        return robot

    def refresh_robot_secret(
        self, actor: Identity, robot_id: int, secret: str | None = None, *, client_ip: str = ""
    ) -> str:
        value = self.robots.refresh_secret(robot_id, secret)
        self._audit_robot("update", actor, self.robots.get(robot_id), client_ip, "new secret")
        return value

    def delete_robot(self, actor: Identity, robot_id: int, *, client_ip: str = "") -> Robot:
        robot = self.robots.delete(robot_id)
        self._audit_robot("delete", actor, robot, client_ip)
        return robot

    def _audit_robot(
        self, operation: str, actor: Identity, robot: Robot, client_ip: str, description: str = ""
    ) -> None:
        project = ""
        if robot.project_id is not None:
            found = self.projects.find(robot.project_id)
            project = found.name if found else ""
        self.audit.record(
            operation, "robot", robot.name, actor.name, project, client_ip,
            description=description,
        )  # fmt: skip

    # --- upkeep -------------------------------------------------------------------------

    def purge_audit(self, limit: int | None = None) -> int:
        """Apply the configured retention, then ``max_rows``; returns the entries deleted
        (at most ``limit``: a caller wanting bounded work calls again while it gets ``limit``)."""
        deleted = 0
        if self.config.audit_retention is not None:
            deleted = self.audit.purge(timedelta(seconds=self.config.audit_retention), limit=limit)
        if limit is None or deleted < limit:
            deleted += self.audit.trim(limit=None if limit is None else limit - deleted)
        return deleted
