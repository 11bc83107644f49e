"""Console sessions, kept in the registry's database: a random id (only its SHA-256 is
stored), the user it belongs to, a CSRF token and an expiry. A sign-in always makes a new
session (no fixation); a sign-out deletes it."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select

from dockyard.registry.metadata import Database

__all__ = ["Session", "SessionStore"]

_meta = MetaData()
_sessions = Table(
    "console_sessions",
    _meta,
    Column("id_hash", String(64), primary_key=True),
    Column("username", String(255), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)

#: How long a session lasts without a new sign-in (seconds).
DEFAULT_LIFETIME = 8 * 3600.0


@dataclass(frozen=True, slots=True)
class Session:
    """``id`` is the cookie's value (never stored as such); ``csrf`` the token every form sends."""

    id: str
    username: str
    csrf: str
    expires_at: float


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Blocking (SQL): call from the registry's threads."""

    def __init__(
        self,
        db: Database,
        *,
        lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.lifetime = lifetime
        self._clock = clock
        with db.write() as conn:  # IMMEDIATE: other threads may be writing already
            _meta.create_all(conn)

    def create(self, username: str) -> Session:
        """A new session for ``username``; expired sessions are removed on the way."""
        now = self._clock()
        session = Session(
            id=secrets.token_urlsafe(32),
            username=username,
            csrf=secrets.token_urlsafe(32),
            expires_at=now + self.lifetime,
        )
        with self._db.write() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.expires_at <= now))
            conn.execute(
                insert(_sessions).values(
                    id_hash=_hash(session.id),
                    username=username,
                    csrf=session.csrf,
                    expires_at=session.expires_at,
                )
            )
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session with this id, or None (unknown, expired, or malformed)."""
        if not session_id or len(session_id) > 128:
            return None
        with self._db.read() as conn:
            row = conn.execute(
                select(_sessions).where(_sessions.c.id_hash == _hash(session_id))
            ).first()
        if row is None or row.expires_at <= self._clock():
            return None
        return Session(session_id, row.username, row.csrf, row.expires_at)

    def delete(self, session_id: str) -> None:
        with self._db.write() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.id_hash == _hash(session_id)))
