"""Artifacts' last pull times, which ``latestPulledN`` and ``nDaysSinceLastPull`` need and
the registry's metadata does not keep: a response observer notes each successful manifest GET
in memory (a dictionary update); one background thread writes the latest time per artifact
every ``interval`` seconds, in one transaction (tags resolved to digests then)."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from dockyard.registry.http import Request, ResponseObserver
from dockyard.registry.http._routes import match
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._schema import manifests, repositories, tags
from dockyard.registry.retention._schema import create_tables, pulls

__all__ = ["PullRecorder", "pull_times"]

log = logging.getLogger("dockyard.registry.retention")

#: References waiting to be written, at most (beyond: dropped, the registry keeps serving).
PENDING = 20_000
INTERVAL = 1.0
#: The table's bounds: artifacts not pulled for ``MAX_AGE`` seconds lose their row (retention
#: then takes them for never pulled), and beyond ``MAX_ROWS`` rows the oldest pulls go;
#: checked every ``PRUNE_EVERY`` seconds.
MAX_AGE = 400 * 86400.0
MAX_ROWS = 1_000_000
PRUNE_EVERY = 3600.0


#: digests looked up in one query, at most (an API page holds at most 100 artifacts)
MAX_LOOKUP = 500


def pull_times(db: Database, repository: str, digests: list[str]) -> dict[str, float]:
    """Blocking: the recorded last pull of each of ``repository``'s ``digests`` that has one
    (seconds since the epoch), at most :data:`MAX_LOOKUP` digests, in one query. Empty when
    the table is missing (a registry whose retention never started)."""
    wanted = list(dict.fromkeys(digests))[:MAX_LOOKUP]
    if not wanted:
        return {}
    with db.read() as conn:
        if not db.engine.dialect.has_table(conn, pulls.name):
            return {}
        rows = conn.execute(
            select(pulls.c.digest, pulls.c.pulled_at).where(
                pulls.c.repository == repository, pulls.c.digest.in_(wanted)
            )
        ).all()
    return {str(digest): float(when) for digest, when in rows}


class PullRecorder:
    def __init__(
        self,
        db: Database,
        *,
        interval: float = INTERVAL,
        size: int = PENDING,
        max_age: float = MAX_AGE,
        max_rows: int = MAX_ROWS,
        prune_every: float = PRUNE_EVERY,
    ) -> None:
        self._db = db
        self.interval = interval
        self.size = size
        self.max_age = max_age
        self.max_rows = max_rows
        self.prune_every = prune_every
        self._pruned_at = 0.0
        create_tables(db)
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pull-times", daemon=True)

    def start(self) -> PullRecorder:
        self._thread.start()
        return self

    def note(self, repository: str, reference: str, when: float | None = None) -> None:
        key = (repository, reference)
        with self._lock:
            if key in self._pending or len(self._pending) < self.size:
                self._pending[key] = time.time() if when is None else when

    def observer(self) -> ResponseObserver:
        def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
            if route != "manifest" or request.method != "GET" or status != 200:
                return
            target = match(request.path)
            if target is not None:
                self.note(target.name, target.arg)

        return observe

    def flush(self) -> int:
        """Write what has gathered; the artifacts whose pull time was written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        try:
            return self._write(pending)
        except Exception:
            log.exception("pull times: cannot write %d entries", len(pending))
            return 0

    def _write(self, pending: dict[tuple[str, str], float]) -> int:
        latest: dict[tuple[str, str], float] = {}
        with self._db.write() as conn:
            for (repository, reference), when in pending.items():
                digest: str | None = reference
                if not reference.startswith("sha256:"):
                    digest = conn.execute(
                        select(manifests.c.digest)
                        .select_from(
                            tags.join(manifests, manifests.c.id == tags.c.manifest_id).join(
                                repositories, repositories.c.id == tags.c.repo_id
                            )
                        )
                        .where(repositories.c.name == repository, tags.c.name == reference)
                    ).scalar()
                    if digest is None:
                        continue
                key = (repository, str(digest))
                latest[key] = max(latest.get(key, 0.0), when)
            for (repository, digest), when in latest.items():
                done = conn.execute(
                    update(pulls)
                    .where(pulls.c.repository == repository, pulls.c.digest == digest)
                    .values(pulled_at=when)
                )
                if done.rowcount == 0:
                    try:
                        with conn.begin_nested():
                            conn.execute(
                                pulls.insert().values(
                                    repository=repository, digest=digest, pulled_at=when
                                )
                            )
                    except IntegrityError:
                        pass
        return len(latest)

    def prune(self, now: float | None = None) -> int:
        """Hold the table to its bounds; the rows deleted."""
        now = time.time() if now is None else now
        with self._db.write() as conn:
            gone = conn.execute(pulls.delete().where(pulls.c.pulled_at < now - self.max_age))
            deleted = int(gone.rowcount or 0)
            rows = int(conn.execute(select(func.count()).select_from(pulls)).scalar_one())
            if rows > self.max_rows:
                cut = conn.execute(
                    select(pulls.c.pulled_at)
                    .order_by(pulls.c.pulled_at.desc())
                    .offset(self.max_rows)
                    .limit(1)
                ).scalar_one()
                gone = conn.execute(pulls.delete().where(pulls.c.pulled_at <= cut))
                deleted += int(gone.rowcount or 0)
        return deleted

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
            if time.time() - self._pruned_at >= self.prune_every:
                self._pruned_at = time.time()
                try:
                    self.prune()
                except Exception:
                    log.exception("pull times: cannot prune the table")
        self.flush()

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
