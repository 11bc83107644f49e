"""The audit log's entries for ``/v2/``: pushes, pulls and deletes (who, what, when, from
where), kept off the request path.

A response observer notes each event in memory (a dictionary update on the event loop); one
background thread writes what has gathered, in one transaction, every ``interval`` seconds.
Identical events within one interval (the same user pulling the same reference from the same
address) become one entry saying how many times (``description``: "3 times"), so a client
pulling in a loop neither slows the registry nor pushes older entries out of the bounded log.
A pull of a cached manifest costs no database write of its own. When more than ``size``
distinct events wait (the database far behind), further ones are dropped and counted, and the
log says so: the registry keeps serving. A write that fails (the database locked past its busy
timeout, a full disk) keeps its entries for the next interval instead of dropping them. Entries follow Harbor's: a push is operation
``create`` on resource type ``artifact`` named ``<repository>:<tag or digest>``; a pull is
``pull`` (user ``anonymous`` without credentials); a delete is ``delete``. A refused attempt
(401/403 on a push, pull, delete, tag list or catalog) is an entry too, marked not ok, when the
client sent credentials or was refused outright (403): the bare 401 every client meets first,
before it fetches a token, is the protocol's handshake, not an attempt.

An anonymous client that goes on after the challenge (docker, podman and skopeo fetch an
anonymous token and retry with it) is written as ``anonymous`` like anyone else.

Refused ``/api/v2.0`` calls are entries the same way: a 403, a 401 to a caller that sent
credentials, or an anonymous attempt to change something (a POST, PUT, PATCH or DELETE without
credentials: at most :data:`ANONYMOUS_BUDGET` entries per address per minute, so no one can
flood the log; anonymous reads are browsing, not attempts) is written not ok, as the permission it lacked (operation = the action, resource
type = the resource of Harbor's permission table, in the project it asked about), the API path
as the resource, the caller (or the name its failed credentials claimed) and its address. The
token service's ``login`` entries come through here too (:meth:`AuditWriter.login`), so issuing
a token costs no database write of its own; :meth:`AuditWriter.close` writes what is pending.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from dockyard.errors import DockyardError
from dockyard.registry.access import AuditLog
from dockyard.registry.auth import parse_basic_authorization
from dockyard.registry.harbor import PREFIX
from dockyard.registry.harbor._call import REFUSED
from dockyard.registry.harbor._router import Router
from dockyard.registry.http import Request, ResponseObserver
from dockyard.registry.http._routes import match

__all__ = ["AuditWriter", "audit_observer"]

_log = logging.getLogger("dockyard.registry.audit")

#: Distinct events waiting to be written, at most (beyond: dropped and counted).
PENDING = 20_000
#: Seconds between writes.
INTERVAL = 0.5
#: Refused anonymous API writes written per client address per minute, at most.
ANONYMOUS_BUDGET = 30
#: Addresses tracked for that budget, at most (beyond: the count starts over).
_BUDGET_ADDRESSES = 10_000

#: (operation, resource_type, resource, username, project, client_ip, ok)
Event = tuple[str, str, str, str, str, str, bool]


class AuditWriter:
    """Writes noted events to ``audit`` from one background thread, every ``interval``."""

    def __init__(self, audit: AuditLog, *, size: int = PENDING, interval: float = INTERVAL) -> None:
        self.audit = audit
        self.size = size
        self.interval = interval
        self.dropped = 0
        self.written = 0
        self._lock = threading.Lock()
        #: event → [times seen, first seen]
        self._pending: dict[Event, list[Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def note(self, event: Event) -> None:
        """Count one event; never blocks on the database."""
        with self._lock:
            seen = self._pending.get(event)
            if seen is not None:
                seen[0] += 1
                return
            if len(self._pending) < self.size:
                self._pending[event] = [1, time.time()]
                return
            self.dropped += 1
            dropped = self.dropped
        if dropped == 1 or dropped % 1000 == 0:
            _log.warning("audit log: %d entries dropped, the database cannot keep up", dropped)

    def login(self, username: str, client_ip: str) -> None:
        """Note a successful login (the access model's ``login_audit`` hook)."""
        self.note(("login", "user", username, username, "", client_ip, True))

    def flush(self) -> int:
        """Write what has gathered now; returns the entries written."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        entries = [
            {
                "operation": event[0], "resource_type": event[1], "resource": event[2],
                "username": event[3], "project": event[4], "client_ip": event[5],
                "op_time": first, "description": f"{count} times" if count > 1 else "",
                "ok": event[6],
            }
            for event, (count, first) in pending.items()
        ]  # fmt: skip
        try:
            written = self.audit.record_many(entries)
        except Exception:
            _log.exception(
                "audit log: cannot write %d entries now; they wait for the next try", len(entries)
            )
            self._requeue(pending)
            return 0
        self.written += written
        return written

    def _requeue(self, failed: dict[Event, list[Any]]) -> None:
        """Put entries a failed write took back in front of what arrived meanwhile (merging
        counts of the same event), within ``size``: nothing is lost to a passing failure of
        the database (locked, full, restarting)."""
        with self._lock:
            arrived, self._pending = self._pending, {}
            for event, (count, first) in failed.items():
                if len(self._pending) < self.size:
                    self._pending[event] = [count, first]
                else:
                    self.dropped += 1
            for event, (count, first) in arrived.items():
                seen = self._pending.get(event)
                if seen is not None:
                    seen[0] += count
                elif len(self._pending) < self.size:
                    self._pending[event] = [count, first]
                else:
                    self.dropped += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
        self.flush()

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop the thread."""
        self._stop.set()
        self._thread.join(timeout)


_OPERATIONS = {
    ("manifest", "GET", 200): "pull",
    ("manifest", "PUT", 201): "create",
    ("manifest", "DELETE", 202): "delete",
    ("blob", "DELETE", 202): "delete",
}


#: What a refused request on a route tried to do, by method.
_ATTEMPTS = {"GET": "pull", "HEAD": "pull", "PUT": "create", "POST": "create",
             "PATCH": "create", "DELETE": "delete"}  # fmt: skip
_REFUSABLE = {"manifest", "blob", "uploads", "upload", "tags", "catalog"}
_RESOURCE_TYPES = {"manifest": "artifact", "tags": "repository", "catalog": "registry"}


def _refused(request: Request, route: str, status: int) -> str | None:
    """The operation a refused attempt tried, or None when this is no refused attempt."""
    if status not in (401, 403) or route not in _REFUSABLE:
        return None
    if status == 401 and not request.header("authorization"):
        return None  # the challenge before a token: every client's first request
    return _ATTEMPTS.get(request.method)


#: What a refused API call tried to do, by method, when no permission check named it.
_API_ACTIONS = {"GET": "read", "HEAD": "read", "POST": "create", "PUT": "update",
                "PATCH": "update", "DELETE": "delete"}  # fmt: skip


def _client_ip(request: Request) -> str:
    client = request.scope.get("client")
    return str(client[0]) if client else ""


class _AnonymousBudget:
    """How many refused anonymous API writes each address may still have written this
    minute (bounded in addresses; only the event loop's thread calls it)."""

    def __init__(self, per_minute: int = ANONYMOUS_BUDGET) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, list[float]] = {}  # address → [window start, count]

    def take(self, address: str) -> bool:
        now = time.monotonic()
        seen = self._seen.get(address)
        if seen is None or now - seen[0] >= 60:
            if len(self._seen) >= _BUDGET_ADDRESSES:
                self._seen.clear()
            self._seen[address] = [now, 1]
            return True
        if seen[1] >= self.per_minute:
            return False
        seen[1] += 1
        return True


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _api_refusal(
    request: Request, status: int, router: Router | None, budget: _AnonymousBudget | None = None
) -> Event | None:
    """The entry for a refused ``/api/v2.0`` call, or None when this is none."""
    if status not in (401, 403) or not request.path.startswith(PREFIX + "/"):
        return None
    header = request.header("authorization")
    if status == 401 and not header:
        # an anonymous caller meeting the Basic challenge: an attempt when it tried to change
        # something (within the address's budget); a read is browsing
        if request.method not in _WRITES or budget is None:
            return None
        if not budget.take(_client_ip(request)):
            return None
    path = request.path[len(PREFIX) :]
    refused = request.scope.get(REFUSED)
    if refused is not None:
        project, resource_type, operation = refused
    else:  # refused before a permission was asked (wrong credentials): what the route is
        project, resource_type = "", "api"
        operation = _API_ACTIONS.get(request.method, request.method.lower())
        method = "GET" if request.method == "HEAD" else request.method
        try:
            found = router.match(method, path) if router is not None else None
        except DockyardError:  # a path the router refuses names no route
            found = None
        if found is not None:
            route, params = found
            resource_type = route.tag
            named = params.get("project_name", params.get("project_name_or_id"))
            if isinstance(named, str) and not named.isdigit():
                project = named
    username = request.user
    if username is None:
        claimed = parse_basic_authorization(header)
        username = claimed[0] if claimed is not None and claimed[0] else "anonymous"
    return (operation, resource_type, path, username, project, _client_ip(request), False)


def audit_observer(writer: AuditWriter, api: Router | None = None) -> ResponseObserver:
    """The observer noting ``/v2/`` pushes, pulls and deletes (those that succeeded, and
    refused attempts) and refused ``/api/v2.0`` calls (``api``: its router, to name the
    resource a call was refused before its permission was checked)."""

    budget = _AnonymousBudget()

    def observe(request: Request, route: str, status: int, seconds: float, sent: int) -> None:
        if status in (401, 403) and request.path.startswith(PREFIX + "/"):
            event = _api_refusal(request, status, api, budget)
            if event is not None:
                writer.note(event)
            return
        operation = _OPERATIONS.get((route, request.method, status))
        ok = operation is not None
        if operation is None and status in (401, 403) and request.path.startswith("/v2/"):
            # a refusal ends the request before the app names its route
            try:
                found = match(request.path)
            except Exception:
                return
            route = found.route.value if found is not None else route
            operation = _refused(request, route, status)
        if operation is None:
            return
        target = match(request.path)
        if target is None:
            return
        # a tag list names its repository, the catalog its path
        resource = f"{target.name}:{target.arg}" if target.arg else target.name or request.path
        writer.note(
            (
                operation,
                _RESOURCE_TYPES.get(route, "blob"),
                resource,
                request.user or "anonymous",
                target.name.partition("/")[0],
                _client_ip(request),
                ok,
            )
        )

    return observe
