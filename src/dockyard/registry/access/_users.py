"""User accounts: local (bcrypt) and directory (LDAP) users, system admins, CLI secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dockyard.errors import AlreadyExists, Denied, FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry.access._names import MAX_NAME, check_user_name
from dockyard.registry.access._records import Page, User, check_paging
from dockyard.registry.access._schema import delete_user_rows, new_id, users
from dockyard.registry.access._secrets import (
    check_password,
    check_strong_password,
    hash_password,
    hash_secret,
    new_secret,
)
from dockyard.registry.metadata import Database

__all__ = ["ADMIN", "Credentials", "UserStore"]

#: The first system administrator's name, as Harbor's.
ADMIN = "admin"
_TEXT = 1024


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a login checks against (never leaves the package)."""

    id: int
    username: str
    password_hash: str | None
    cli_secret_hash: str | None
    sysadmin: bool
    source: str


def _user(row: Any) -> User:
    return User(
        id=row.id,
        username=row.username,
        email=row.email,
        realname=row.realname,
        comment=row.comment,
        sysadmin=row.sysadmin,
        source=row.source,
        has_cli_secret=row.cli_secret_hash is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        admin_role_in_auth=row.admin_in_auth,
    )


def _bounded(value: str, what: str, limit: int = MAX_NAME) -> str:
    if len(value) > limit:
        raise InvalidArgument(f"{what} is longer than {limit} characters", hint=f"shorten {what}")
    return value


class UserStore:
    def __init__(self, db: Database, *, cost: int, clock: Callable[[], float]) -> None:
        self._db = db
        self._cost = cost
        self._clock = clock

    # --- reading ------------------------------------------------------------------------

    def get(self, user_id: int) -> User:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"user {user_id} does not exist", hint="list users to find the id")
        return _user(row)

    def by_name(self, username: str) -> User:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFound(f"user {username[:80]!r} does not exist", hint="check the name")
        return _user(row)

    def find(self, username: str) -> User | None:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else _user(row)

    def credentials(self, username: str) -> Credentials | None:
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            return None
        return Credentials(
            row.id, row.username, row.password_hash, row.cli_secret_hash,
            row.sysadmin or row.admin_in_auth, row.source,
        )  # fmt: skip

    def list(
        self,
        *,
        username: str | None = None,
        fuzzy: bool = False,
        page: int = 1,
        page_size: int = 10,
    ) -> Page[User]:
        """Users by name (``fuzzy``: the name contains ``username``), ordered by id."""
        offset, limit = check_paging(page, page_size)
        query = select(users)
        count = select(func.count()).select_from(users)
        if username is not None:
            cond = (
                users.c.username.icontains(username, autoescape=True)
                if fuzzy
                else users.c.username == username
            )
            query, count = query.where(cond), count.where(cond)
        with self._db.read() as conn:
            total = conn.execute(count).scalar_one()
            rows = conn.execute(query.order_by(users.c.id).offset(offset).limit(limit)).all()
        return Page([_user(r) for r in rows], total, page, page_size)  # fmt: skip

    # --- writing ------------------------------------------------------------------------

    def create(
        self,
        username: str,
        password: str | None,
        *,
        email: str = "",
        realname: str = "",
        comment: str = "",
        sysadmin: bool = False,
        source: str = "local",
    ) -> User:
        """A new account; a local account needs a password by Harbor's rule (8+ characters
        with upper, lower and a digit). AlreadyExists when the name is taken."""
        check_user_name(username)
        _bounded(email, "the e-mail address")
        _bounded(realname, "the real name")
        _bounded(comment, "the comment", _TEXT)
        hashed = None
        if source == "local":
            if password is None:
                raise FailedPrecondition(f"local user {username!r} needs a password")
            check_strong_password(password)
            hashed = hash_password(password, self._cost)
        now = self._clock()
        values = {
            "username": username, "email": email, "realname": realname, "comment": comment,
            "password_hash": hashed, "sysadmin": sysadmin, "admin_in_auth": False,
            "source": source,
            "cli_secret_hash": None, "created_at": now, "updated_at": now,
        }  # fmt: skip
        try:
            with self._db.write() as conn:
                user_id = new_id(conn.execute(users.insert().values(**values)))
        except IntegrityError:
            raise AlreadyExists(
                f"user {username[:80]!r} already exists", hint="choose another name"
            ) from None
        return self.get(int(user_id))

    def ensure_admin(self, password: str | None) -> str | None:
        """Create ``admin`` (a system admin) unless it exists: with ``password`` (e.g.
        ``DOCKYARD_ADMIN_PASSWORD``) or a generated one. Returns the password when this call
        created the account (print a generated one once), None when it already existed."""
        if self.find(ADMIN) is not None:
            return None
        secret = password if password else new_secret()
        try:
            self.create(ADMIN, secret, sysadmin=True, comment="first system administrator")
        except AlreadyExists:  # another process made it first
            return None
        return secret

    def sync_directory_user(self, username: str, *, email: str, realname: str, admin: bool) -> User:
        """The account of a user the directory (LDAP) vouched for: made at first login,
        its e-mail and name refreshed at every login. ``admin``: the directory's admin group."""
        user = self.find(username)
        if user is None:
            try:
                user = self.create(
                    username, None, email=email[:MAX_NAME], realname=realname[:MAX_NAME],
                    source="ldap",
                )  # fmt: skip
            except AlreadyExists:
                user = self.by_name(username)
        if user.source != "ldap":
            raise Denied(
                f"user {username[:80]!r} is a local account; the directory cannot log it in",
                hint="log in with the local password, or delete the local account",
            )
        with self._db.write() as conn:
            conn.execute(
                users.update()
                .where(users.c.id == user.id)
                .values(email=email[:MAX_NAME], realname=realname[:MAX_NAME],
                        admin_in_auth=admin, updated_at=self._clock())
            )  # fmt: skip
        return self.get(user.id)

    def update_profile(
        self, user_id: int, *, email: str | None = None, realname: str | None = None,
        comment: str | None = None,
    ) -> User:  # fmt: skip
        values: dict[str, object] = {"updated_at": self._clock()}
        if email is not None:
            values["email"] = _bounded(email, "the e-mail address")
        if realname is not None:
            values["realname"] = _bounded(realname, "the real name")
        if comment is not None:
            values["comment"] = _bounded(comment, "the comment", _TEXT)
        self._update(user_id, values)
        return self.get(user_id)

    def set_sysadmin(self, user_id: int, sysadmin: bool) -> User:
        self._update(user_id, {"sysadmin": sysadmin, "updated_at": self._clock()})
        return self.get(user_id)

    def change_password(self, user_id: int, new: str, *, old: str | None = None) -> None:
        """Set a local user's password; with ``old`` (a user changing their own), it must match
        (Denied otherwise). Cached logins with the old password stop working at once."""
        with self._db.read() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"user {user_id} does not exist")
        if row.source != "local":
            raise FailedPrecondition(
                f"user {row.username!r} lives in the directory; change the password there"
            )
        if old is not None and not check_password(old, row.password_hash or ""):
            raise Denied("the old password is wrong", hint="give the current password")
        check_strong_password(new)
        self._update(
            user_id, {"password_hash": hash_password(new, self._cost), "updated_at": self._clock()}
        )

    def set_cli_secret(self, user_id: int, secret: str | None = None) -> str:
        """A new CLI secret (usable as the registry password); the old one stops working.
        ``secret`` sets a chosen one (Harbor's password rule applies). Returned once."""
        if secret is not None:
            check_strong_password(secret)
        value = secret if secret is not None else new_secret()
        self._update(user_id, {"cli_secret_hash": hash_secret(value), "updated_at": self._clock()})
        return value

    def delete(self, user_id: int) -> User:
        user = self.get(user_id)
        with self._db.write() as conn:
            delete_user_rows(conn, user_id)
        return user

    def _update(self, user_id: int, values: dict[str, object]) -> None:
        with self._db.write() as conn:
            done = conn.execute(users.update().where(users.c.id == user_id).values(**values))
        if done.rowcount == 0:
            raise NotFound(f"user {user_id} does not exist", hint="list users to find the id")
