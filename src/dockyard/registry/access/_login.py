"""Checking credentials: local passwords and CLI secrets, robot secrets, directory users.

Every path costs about the same whether or not the name exists (a dummy bcrypt check for an
unknown user, a hash compare against nothing for an unknown robot); secrets compare in constant
time. bcrypt is slow on purpose, so a verified password is remembered (as a keyed BLAKE2 hash,
never the password) for as long as the account's hash stays the same.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.registry.access._directory import Directory
from dockyard.registry.access._members import MemberStore
from dockyard.registry.access._names import ROBOT_PREFIX
from dockyard.registry.access._robots import RobotStore
from dockyard.registry.access._secrets import DummyHash, check_password, secret_matches
from dockyard.registry.access._users import UserStore
from dockyard.registry.identity import Identity

__all__ = ["Checker", "Verdict"]

_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Verdict:
    """An identity, or why there is none (for the audit log; never shown to the client)."""

    identity: Identity | None
    reason: str = ""


class Checker:
    def __init__(
        self,
        users: UserStore,
        robots: RobotStore,
        members: MemberStore,
        *,
        cost: int,
        clock: Callable[[], float],
        directory: Directory | None = None,
    ) -> None:
        self._users = users
        self._robots = robots
        self._members = members
        self._clock = clock
        self.directory = directory
        self._dummy = DummyHash(cost)
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._cache: OrderedDict[bytes, str] = OrderedDict()

    def check(self, username: str, password: str) -> Verdict:
        if username.startswith(ROBOT_PREFIX):
            return self._robot(username, password)
        return self._user(username, password)

    def _robot(self, username: str, password: str) -> Verdict:
        row = self._robots.secret_row(username)
        matches = secret_matches(password, row[1] if row else None)
        if row is None or not matches:
            return Verdict(None, "wrong robot name or secret")
        robot_id, _, disabled, expires_at = row
        if disabled:
            return Verdict(None, "the robot is disabled")
        if expires_at != -1 and self._clock() >= expires_at:
            return Verdict(None, "the robot has expired")
        return Verdict(Identity(kind="robot", name=username, id=robot_id))

    def _cache_key(self, username: str, password: str) -> bytes:
        data = username.encode() + b"\0" + password.encode()
        return hashlib.blake2b(data, key=self._key, digest_size=32).digest()

    def _user(self, username: str, password: str) -> Verdict:
        creds = self._users.credentials(username)
        if creds is None or creds.source != "local":
            return self._directory_user(username, password, known=creds is not None)
        key = self._cache_key(username, password)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached == creds.password_hash:
                self._cache.move_to_end(key)
                return Verdict(self._identity(creds.id, username, creds.sysadmin, ()))
        by_secret = secret_matches(password, creds.cli_secret_hash)
        by_password = check_password(password, creds.password_hash or "")
        if by_password and creds.password_hash:
            with self._lock:
                self._cache[key] = creds.password_hash
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        if not (by_password or by_secret):
            return Verdict(None, "wrong password")
        return Verdict(self._identity(creds.id, username, creds.sysadmin, ()))

    def _directory_user(self, username: str, password: str, *, known: bool) -> Verdict:
        if self.directory is None:
            self._dummy.burn(password)
            return Verdict(None, "unknown user" if not known else "no directory configured")
        entry = self.directory.authenticate(username, password)
        if entry is None:
            return Verdict(None, "the directory refused the credentials")
        user = self._users.sync_directory_user(
            username, email=entry.email, realname=entry.realname, admin=entry.admin
        )
        groups = tuple(g.lower() for g in entry.groups)
        return Verdict(self._identity(user.id, username, user.sysadmin or entry.admin, groups))

    @staticmethod
    def _identity(user_id: int, username: str, sysadmin: bool, groups: tuple[str, ...]) -> Identity:
        return Identity(kind="user", name=username, id=user_id, sysadmin=sysadmin, groups=groups)
