"""The :class:`~dockyard.registry.events.EventSink` of a registry with webhooks: events go to
the delivery queue in the registry's database, fanned out to every enabled policy of the
event's project that wants its type (one task per target) and to every registry:2
notification endpoint.

``publish`` only appends to a list in memory (it runs on request paths, some on the event
loop); one background thread writes what gathered, every ``interval`` seconds, in one
transaction, and wakes the delivery worker. Closing writes what is left, so a registry that
stops normally loses nothing; from then on the rows are in the database and survive any
restart. When more than ``size`` events wait (the database far behind), further ones are
dropped, counted and logged: the registry keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dockyard.registry.events import Event
from dockyard.registry.metadata import Database
from dockyard.registry.webhooks._endpoints import Endpoint
from dockyard.registry.webhooks._payloads import (
    CLOUDEVENTS,
    CLOUDEVENTS_JSON,
    DISTRIBUTION_EVENTS,
    SIGNATURE_HEADER,
    cloudevents_payload,
    default_payload,
    distribution_action,
    distribution_envelope,
    sign,
)
from dockyard.registry.webhooks._policies import Policy, PolicyStore
from dockyard.registry.webhooks._queue import NewTask, enqueue, enqueue_tasks
from dockyard.registry.webhooks._schema import metadata

__all__ = ["ProjectInfo", "WebhookSink"]

log = logging.getLogger("dockyard.registry.webhooks")

#: Events waiting to be written, at most; seconds between writes.
PENDING = 100_000
INTERVAL = 0.05
#: Attempts and first backoff of a policy's deliveries; one POST's timeout.
POLICY_ATTEMPTS = 8
POLICY_BACKOFF = 2.0
POLICY_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    public: bool


#: project name → its id and visibility (None: no such project)
ProjectLookup = Callable[[str], ProjectInfo | None]
#: (repository, tag) → (digest, media type, size) of what the tag names now, or None
Resolver = Callable[[str, str], tuple[str, str, int] | None]


class WebhookSink:
    """Events → delivery rows. ``policies`` with ``projects``: Harbor's per-project policies;
    ``endpoints``: registry:2's notification endpoints. ``wake`` is called after each write
    (the delivery worker's nudge)."""

    def __init__(
        self,
        db: Database,
        *,
        policies: PolicyStore | None = None,
        projects: ProjectLookup | None = None,
        endpoints: Sequence[Endpoint] = (),
        resolve: Resolver | None = None,
        host: str = "",
        interval: float = INTERVAL,
        size: int = PENDING,
        wake: Callable[[], None] | None = None,
        start: bool = True,
    ) -> None:
        db.create_tables(metadata)
        self.db = db
        self.policies = policies
        self.projects = projects
        self.endpoints = tuple(endpoints)
        self.resolve = resolve
        self.host = host
        self.interval = interval
        self.size = size
        self.wake = wake
        self.dropped = 0
        self.written = 0
        self._lock = threading.Lock()
        self._pending: list[Event] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-sink", daemon=True)
        if start:
            self._thread.start()

    def publish(self, event: Event) -> None:
        """Note ``event`` (never blocks on the database, never raises)."""
        with self._lock:
            if len(self._pending) < self.size:
                self._pending.append(event)
                return
            self.dropped += 1
            dropped = self.dropped
        if dropped == 1 or dropped % 1000 == 0:
            log.warning("webhooks: %d events dropped, the database cannot keep up", dropped)

    def flush(self) -> int:
        """Write what gathered now; the number of deliveries queued."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return 0
        try:
            queued = self._write(pending)
        except Exception:
            log.exception("webhooks: cannot queue %d events; retrying", len(pending))
            with self._lock:
                self._pending[:0] = pending
            return 0
        self.written += queued
        if queued and self.wake is not None:
            self.wake()
        return queued

    def close(self, timeout: float = 10.0) -> None:
        """Write what is pending, then stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    # --- fan-out ------------------------------------------------------------------------

    def _complete(self, event: Event) -> Event:
        if event.digest or not event.tag or self.resolve is None or not event.repository:
            return event
        try:
            found = self.resolve(event.repository, event.tag)
        except Exception:
            found = None
        if found is None:
            return event
        digest, media_type, size = found
        return replace(event, digest=digest, media_type=event.media_type or media_type,
                       size=event.size or size)  # fmt: skip

    def _write(self, pending: list[Event]) -> int:
        events = [self._complete(e) for e in pending]
        infos: dict[str, ProjectInfo | None] = {}
        if self.policies is not None and self.projects is not None:
            for name in {e.project for e in events if e.project}:
                infos[name] = self.projects(name)
        now = time.time()
        queued = 0
        bare: list[NewTask] = []  # notification endpoints' deliveries: no execution rows
        with self.db.write() as conn:
            by_project: dict[int, list[Policy]] = {}
            if self.policies is not None:
                ids = [i.id for i in infos.values() if i is not None]
                by_project = self.policies.for_projects(conn, ids)
            for event in events:
                info = infos.get(event.project)
                if info is not None:
                    for policy in by_project.get(info.id, ()):
                        if policy.wants(event.type):
                            items = self._policy_tasks(policy, event, info)
                            enqueue(conn, policy_id=policy.id, endpoint="",
                                    event_type=event.type, items=items, now=now)  # fmt: skip
                            queued += len(items)
                bare += self._endpoint_tasks(event)
            enqueue_tasks(conn, [(0, item) for item in bare], now)
        return queued + len(bare)

    def _policy_tasks(self, policy: Policy, event: Event, info: ProjectInfo) -> list[NewTask]:
        items = []
        for target in policy.targets:
            if target.payload_format == CLOUDEVENTS:
                body = cloudevents_payload(event, project_id=info.id, policy_id=policy.id,
                                           host=self.host, public=info.public)  # fmt: skip
                headers = {"Content-Type": CLOUDEVENTS_JSON}
            else:
                body = default_payload(event, host=self.host, public=info.public)
                headers = {"Content-Type": "application/json"}
            if target.auth_header:
                headers["Authorization"] = target.auth_header
            if policy.secret:
                headers[SIGNATURE_HEADER] = sign(policy.secret, body)
            items.append(
                NewTask(target.address, body, headers, verify=not target.skip_cert_verify,
                        timeout=POLICY_TIMEOUT, max_attempts=POLICY_ATTEMPTS,
                        backoff=POLICY_BACKOFF)
            )  # fmt: skip
        return items

    def _endpoint_tasks(self, event: Event) -> list[NewTask]:
        action = distribution_action(event.type)
        if action is None:
            return []
        out = []
        for endpoint in self.endpoints:
            if not endpoint.wants(action, event.media_type):
                continue
            body = distribution_envelope(event, host=self.host)
            headers = {**endpoint.headers, "Content-Type": DISTRIBUTION_EVENTS}
            out.append(NewTask(endpoint.url, body, headers, timeout=endpoint.timeout,
                               max_attempts=endpoint.threshold, backoff=endpoint.backoff))  # fmt: skip
        return out
