"""The audit log: who did what to which resource, when, from where, and whether it worked.

Harbor's ``/audit-logs`` filters (``q=operation=push,resource=~team/,op_time=[a~b]``, paging,
newest first) map onto :meth:`AuditLog.query`. The log is bounded: ``max_rows`` keeps the
newest rows (the oldest go first, as entries are written, and in bounded steps by
:meth:`AuditLog.trim`) and :meth:`AuditLog.purge` drops rows older than an age.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, select

from dockyard.errors import InvalidArgument
from dockyard.registry.access._records import AuditEntry, Page, check_paging
from dockyard.registry.access._schema import audit_log, new_id
from dockyard.registry.metadata import Database

__all__ = ["AuditLog", "AuditQuery", "Match"]

_LIMITS = {
    "operation": 32, "resource_type": 64, "resource": 512, "username": 255, "project": 255,
    "client_ip": 64, "description": 1024,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Match:
    """A ``q=`` term: exact (``k=v``), fuzzy (``k=~v``: contains) or one of (``k={a b}``)."""

    value: str | tuple[str, ...]
    fuzzy: bool = False

    def condition(self, column: Any) -> Any:
        if isinstance(self.value, tuple):
            return column.in_(self.value)
        if self.fuzzy:
            return column.icontains(self.value, autoescape=True)  # as on SQLite and Harbor
        return column == self.value


def _match(value: str | Match | None) -> Match | None:
    return Match(value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of Harbor's audit-log listing; None: any. ``projects``: only these projects
    (what a non-admin may read); ``since``/``until``: the op_time range, inclusive."""

    operation: str | Match | None = None
    resource_type: str | Match | None = None
    resource: str | Match | None = None
    username: str | Match | None = None
    project: str | Match | None = None
    projects: Collection[str] | None = None
    ok: bool | None = None
    since: float | None = None
    until: float | None = None

    def conditions(self) -> list[Any]:
        conds: list[Any] = []
        for name in ("operation", "resource_type", "resource", "username", "project"):
            m = _match(getattr(self, name))
            if m is not None:
                conds.append(m.condition(audit_log.c[name]))
        if self.projects is not None:
            conds.append(audit_log.c.project.in_(sorted(self.projects)))
        if self.ok is not None:
            conds.append(audit_log.c.ok == self.ok)
        if self.since is not None:
            conds.append(audit_log.c.op_time >= self.since)
        if self.until is not None:
            conds.append(audit_log.c.op_time <= self.until)
        return conds


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        id=r.id, op_time=r.op_time, operation=r.operation, resource_type=r.resource_type,
        resource=r.resource, username=r.username, project=r.project, client_ip=r.client_ip,
        ok=r.ok, description=r.description,
    )  # fmt: skip


#: Ids below the newest ``max_rows`` a write deletes besides the ones it pushes out: a log
#: far over a lowered ``max_rows`` is cut down by :meth:`AuditLog.trim`, not by one request.
TRIM_SLACK = 1000


def _beyond(last_out: int, written: int) -> Any:
    """The delete for ids up to ``last_out`` that ``written`` new rows push out (bounded)."""
    low = last_out - written - TRIM_SLACK
    return audit_log.delete().where(audit_log.c.id <= last_out, audit_log.c.id > low)


class AuditLog:
    def __init__(self, db: Database, *, clock: Callable[[], float], max_rows: int) -> None:
        if max_rows < 1:
            raise InvalidArgument("the audit log's max_rows must be at least 1")
        self._db = db
        self._clock = clock
        self.max_rows = max_rows

    def record(
        self,
        operation: str,
        resource_type: str,
        resource: str,
        username: str,
        project: str = "",
        client_ip: str = "",
        ok: bool = True,
        description: str = "",
    ) -> int:
        """Append one entry (long fields are cut to their column's size); returns its id.
        When the log holds more than ``max_rows``, the oldest entries go."""
        values: dict[str, Any] = {
            "operation": operation, "resource_type": resource_type, "resource": resource,
            "username": username, "project": project, "client_ip": client_ip,
            "description": description,
        }  # fmt: skip
        values = {k: str(v)[: _LIMITS[k]] for k, v in values.items()}
        with self._db.write() as conn:
            entry_id = int(
                new_id(
                    conn.execute(audit_log.insert().values(op_time=self._clock(), ok=ok, **values))
                )
            )
            if entry_id > self.max_rows:
                conn.execute(_beyond(entry_id - self.max_rows, 1))
        return entry_id

    def record_many(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Append several entries in one transaction: each a mapping of :meth:`record`'s
        arguments, plus ``op_time`` (epoch seconds; default now) for an entry noted earlier
        than it is written. Returns how many were written."""
        if not entries:
            return 0
        now = self._clock()
        rows: list[dict[str, Any]] = []
        for entry in entries:
            values: dict[str, Any] = {k: str(entry.get(k, ""))[: _LIMITS[k]] for k in _LIMITS}
            values["op_time"] = float(entry.get("op_time", now))
            values["ok"] = bool(entry.get("ok", True))
            rows.append(values)
        with self._db.write() as conn:
            conn.execute(audit_log.insert(), rows)
            last = conn.execute(select(func.max(audit_log.c.id))).scalar_one()
            if last is not None and int(last) > self.max_rows:
                conn.execute(_beyond(int(last) - self.max_rows, len(rows)))
        return len(rows)

    def query(
        self,
        filters: AuditQuery | None = None,
        *,
        page: int = 1,
        page_size: int = 10,
        oldest_first: bool = False,
    ) -> Page[AuditEntry]:
        """Matching entries, newest first (``oldest_first``: the other way round)."""
        offset, limit = check_paging(page, page_size)
        conds = (filters or AuditQuery()).conditions()
        with self._db.read() as conn:
            total = conn.execute(
                select(func.count()).select_from(audit_log).where(*conds)
            ).scalar_one()
            rows = conn.execute(
                select(audit_log)
                .where(*conds)
                .order_by(
                    *(
                        (audit_log.c.op_time, audit_log.c.id)
                        if oldest_first
                        else (audit_log.c.op_time.desc(), audit_log.c.id.desc())
                    )
                )
                .offset(offset)
                .limit(limit)
            ).all()
        return Page([_entry(r) for r in rows], int(total), page, page_size)

    def counts(
        self, filters: AuditQuery, *, start: float, step: float, steps: int
    ) -> dict[str, list[int]]:
        """How many entries ``filters`` match, per operation and per interval: ``steps``
        intervals of ``step`` seconds from ``start`` (one grouped query). Entries outside
        ``[start, start + steps * step)`` are not counted."""
        if step <= 0 or not 0 < steps <= 1000:
            raise InvalidArgument("counts need a positive step and between 1 and 1,000 steps")
        t = audit_log.c.op_time
        bucket = case(*[(t < start + (i + 1) * step, i) for i in range(steps)], else_=steps)
        conds = [*filters.conditions(), t >= start, t < start + steps * step]
        rows = select(audit_log.c.operation, bucket.label("bucket")).where(*conds).subquery()
        query = select(rows.c.operation, rows.c.bucket, func.count()).group_by(
            rows.c.operation, rows.c.bucket
        )
        out: dict[str, list[int]] = {}
        with self._db.read() as conn:
            for operation, index, count in conn.execute(query).all():
                if 0 <= int(index) < steps:
                    out.setdefault(str(operation), [0] * steps)[int(index)] = int(count)
        return out

    def purge(self, older_than: timedelta, *, limit: int | None = None) -> int:
        """Delete entries older than ``older_than`` (the oldest first, at most ``limit``);
        returns how many went."""
        if older_than.total_seconds() < 0:
            raise InvalidArgument("purge needs a positive age (e.g. 30 days)")
        cutoff = self._clock() - older_than.total_seconds()
        where = audit_log.c.op_time < cutoff
        with self._db.write() as conn:
            if limit is not None:
                oldest = select(audit_log.c.id).where(where).order_by(audit_log.c.op_time)
                where = audit_log.c.id.in_(oldest.limit(limit).scalar_subquery())
            done = conn.execute(audit_log.delete().where(where))
        return int(done.rowcount)

    def trim(self, *, limit: int | None = None) -> int:
        """Delete the oldest entries beyond ``max_rows`` (at most ``limit``): what
        :meth:`record` keeps to as it writes, applied to a log that has grown past a lowered
        ``max_rows``. Returns how many went."""
        with self._db.write() as conn:
            newest = (
                select(audit_log.c.id)
                .order_by(audit_log.c.id.desc())
                .offset(self.max_rows - 1)
                .limit(1)
            )
            keep_from = conn.execute(newest).scalar()
            if keep_from is None:
                return 0
            where = audit_log.c.id < keep_from
            if limit is not None:
                oldest = select(audit_log.c.id).where(where).order_by(audit_log.c.id)
                where = audit_log.c.id.in_(oldest.limit(limit).scalar_subquery())
            done = conn.execute(audit_log.delete().where(where))
        return int(done.rowcount)
