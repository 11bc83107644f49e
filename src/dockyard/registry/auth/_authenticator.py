"""Who is asking: HTTP Basic credentials checked against an htpasswd file, as registry:2 does.

The file is re-read when it changes (its mtime, size or inode), so users can be added while the
registry runs. bcrypt is slow on purpose, so verified credentials are remembered in memory (as
a keyed BLAKE2 hash of the header, never the password) until the file changes; a wrong password
always pays the full bcrypt cost, and so does an unknown user (checked against a dummy hash of
the same cost), so timing does not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Protocol, runtime_checkable

import bcrypt

from dockyard.errors import DockyardError, NotFound, Unauthorized, Unavailable
from dockyard.registry.auth._htpasswd import HtpasswdFile, check_password, is_bcrypt, read_htpasswd

__all__ = [
    "AuthenticationRequired",
    "Authenticator",
    "HtpasswdAuthenticator",
    "basic_challenge",
    "parse_basic_authorization",
]

_log = logging.getLogger("dockyard.registry.auth")


class AuthenticationRequired(Unauthorized):
    """Missing or wrong credentials; ``challenge`` is the ``WWW-Authenticate`` value to send."""

    def __init__(self, message: str, *, challenge: str, detail: object = None) -> None:
        super().__init__(message, detail=detail)
        self.challenge = challenge

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge}


@runtime_checkable
class Authenticator(Protocol):
    """Turns an ``Authorization`` header into a user name or raises AuthenticationRequired."""

    @property
    def challenge(self) -> str: ...

    def authenticate(self, authorization: str | None) -> str:
        """The user, or AuthenticationRequired; may block (bcrypt): call it from a thread."""
        ...

    def authenticate_cached(self, authorization: str | None) -> str | None:
        """The user if known without slow work; None means call :meth:`authenticate`."""
        ...


def basic_challenge(realm: str) -> str:
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return f'Basic realm="{escaped}"'


def parse_basic_authorization(authorization: str | None) -> tuple[str, bytes] | None:
    """(user, password) from ``Basic base64(user:password)``; None when absent or malformed."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


_Identity = tuple[int, int, int]  # mtime_ns, size, inode


class HtpasswdAuthenticator:
    """Basic auth against an htpasswd file (bcrypt only), re-read whenever the file changes."""

    def __init__(self, path: Path, realm: str, *, cache_size: int = 4096) -> None:
        self.path = Path(path)
        self.realm = realm
        self._challenge = basic_challenge(realm)
        self._lock = threading.Lock()
        self._key = secrets.token_bytes(32)
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, tuple[str, str]] = OrderedDict()
        self._identity: _Identity | None = None
        self._file = HtpasswdFile({})
        self._dummy = ""
        self._refresh(startup=True)  # a bad file is an error at startup, not at first use

    @property
    def challenge(self) -> str:
        return self._challenge

    def users(self) -> list[str]:
        self._refresh()
        return sorted(self._file.entries)

    def authenticate(self, authorization: str | None) -> str:
        user, password = self._credentials(authorization)
        entries = self._refresh()
        key = self._cache_key(authorization or "")
        hashed = entries.get(user)
        with self._lock:
            if hashed is not None and self._cache.get(key) == (user, hashed):
                self._cache.move_to_end(key)
                return user
        if hashed is None or not is_bcrypt(hashed):
            check_password(password, self._dummy)  # same cost as a real check
            raise self._denied(f"authentication failure for user {user!r}")
        if not check_password(password, hashed):
            raise self._denied(f"authentication failure for user {user!r}")
        with self._lock:
            if self._file.entries.get(user) == hashed:
                self._cache[key] = (user, hashed)
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return user

    def authenticate_cached(self, authorization: str | None) -> str | None:
        if not authorization:
            raise self._denied("authentication required")
        entries = self._refresh()
        key = self._cache_key(authorization)
        with self._lock:
            found = self._cache.get(key)
            if found is None or entries.get(found[0]) != found[1]:
                return None
            self._cache.move_to_end(key)
        return found[0]

    def _credentials(self, authorization: str | None) -> tuple[str, bytes]:
        credentials = parse_basic_authorization(authorization)
        if credentials is None:
            raise self._denied("authentication required")
        return credentials

    def _denied(self, why: str) -> AuthenticationRequired:
        _log.debug("%s", why)
        return AuthenticationRequired("authentication required", challenge=self._challenge)

    def _cache_key(self, authorization: str) -> bytes:
        """A keyed hash of the whole header: the password itself is never kept."""
        return hashlib.blake2b(authorization.encode(), key=self._key, digest_size=32).digest()

    def _refresh(self, *, startup: bool = False) -> dict[str, str]:
        """The current entries, re-reading the file if it changed since the last look.

        At startup a missing or malformed file is NotFound/InvalidArgument; later it is
        Unavailable (503: the server's problem, not the client's), and nobody gets in.
        """
        try:
            st = os.stat(self.path)
            identity = (st.st_mtime_ns, st.st_size, st.st_ino)
            with self._lock:
                if identity == self._identity:
                    return self._file.entries
            parsed = read_htpasswd(self.path)
        except (OSError, DockyardError) as exc:
            if startup:
                if isinstance(exc, DockyardError):
                    raise
                raise NotFound(
                    f"htpasswd file {self.path} cannot be read: {exc.strerror}",
                    hint="create it with `dockyard htpasswd -Bc FILE USER` or fix auth.htpasswd.path",
                ) from exc
            _log.error("htpasswd file %s cannot be used: %s", self.path, exc)
            raise Unavailable(
                f"htpasswd file {self.path} cannot be used: {exc}",
                hint="restore the file named by auth.htpasswd.path",
            ) from exc
        for user in parsed.unsupported:
            _log.warning(
                "htpasswd %s: user %r has a non-bcrypt hash and can never log in "
                "(recreate it with `dockyard htpasswd -B`)",
                self.path,
                user,
            )
        dummy = _dummy_hash(parsed)
        with self._lock:
            self._file, self._identity, self._dummy = parsed, identity, dummy
            self._cache.clear()
        return parsed.entries


_DUMMIES: dict[int, str] = {}


def _dummy_hash(parsed: HtpasswdFile) -> str:
    """A bcrypt hash at the cost most entries use, to spend the same time on unknown users."""
    costs = [int(h[4:6]) for h in parsed.entries.values() if is_bcrypt(h) and h[4:6].isdigit()]
    cost = max(set(costs), key=costs.count) if costs else 5
    cost = min(max(cost, 4), 17)
    if cost not in _DUMMIES:
        salt = bcrypt.gensalt(rounds=cost)
        _DUMMIES[cost] = bcrypt.hashpw(secrets.token_bytes(16).hex().encode(), salt).decode()
    return _DUMMIES[cost]
