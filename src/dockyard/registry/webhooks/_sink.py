"""The :class:`~dockyard.registry.events.EventSink` of a registry with webhooks: events go to
the delivery queue in the registry's database, fanned out to every enabled policy of the
event's project that wants its type (one task per target) and to every registry:2
notification endpoint (one row per envelope of up to ``MAX_ENVELOPE`` events).

``publish`` (and ``note``, the response observer's record of a request) only appends to a
list in memory (it runs on request paths, some on the event
loop); one background thread writes what gathered, every ``interval`` seconds, in one
transaction, and wakes the delivery worker. Closing writes what is left, so a registry that
stops normally loses nothing; from then on the rows are in the database and survive any
restart. When more than ``size`` events wait (the database far behind), further ones are
dropped, counted and logged: the registry keeps serving.

Within one write, pulls of one reference by the same user, client host and user agent are
merged into one event carrying their ``count`` (:func:`merge_pulls`); a push waits (once) for
the observer's record of its request, which names its operator.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from dockyard.registry._names import is_digest
from dockyard.registry.events import EVENT_TYPES, PULL_ARTIFACT, PUSH_ARTIFACT, Event
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
    distribution_envelope_of,
    distribution_event,
    sign,
)
from dockyard.registry.webhooks._policies import Policy, PolicyStore
from dockyard.registry.webhooks._queue import NewTask, enqueue, enqueue_tasks
from dockyard.registry.webhooks._schema import metadata

__all__ = ["ProjectInfo", "Seen", "WebhookSink", "merge_pulls"]

log = logging.getLogger("dockyard.registry.webhooks")

#: Events waiting to be written, at most; seconds between writes.
PENDING = 100_000
INTERVAL = 0.2
#: Attempts and first backoff of a policy's deliveries; one POST's timeout.
POLICY_ATTEMPTS = 8
POLICY_BACKOFF = 2.0
POLICY_TIMEOUT = 10.0
#: Most events in one envelope to a registry:2 notification endpoint (one queued row).
MAX_ENVELOPE = 64


@dataclass(frozen=True, slots=True)
class ProjectInfo:
    id: int
    public: bool


#: project name → its id and visibility (None: no such project)
ProjectLookup = Callable[[str], ProjectInfo | None]
#: (repository, tag) → (digest, media type, size) of what the tag names now, or None
Resolver = Callable[[str, str], tuple[str, str, int] | None]


@dataclass(slots=True)
class Seen:
    """A pull or delete the registry answered, as the response observer saw it (on the event
    loop: nothing but this record is made there); the sink makes it an :class:`Event`."""

    type: str
    repository: str
    reference: str
    operator: str
    request_id: str
    client: str
    method: str
    user_agent: str
    when: float
    #: what a pulled reference named then (digest, media type, size), when known
    found: tuple[str, str, int] | None = None


def _event(seen: Seen, found: tuple[str, str, int] | None, count: int) -> Event:
    digest, tag = (seen.reference, "") if is_digest(seen.reference) else ("", seen.reference)
    media_type, size = "", 0
    if found is not None:
        digest, media_type, size = found
    details: dict[str, object] = {
        "request_id": seen.request_id, "client_addr": seen.client, "method": seen.method,
        "user_agent": seen.user_agent,
    }  # fmt: skip
    if count > 1:
        details["count"] = count
    project = seen.repository.partition("/")[0] if "/" in seen.repository else ""
    return Event(seen.type, project, seen.repository, operator=seen.operator, digest=digest,
                 tag=tag, media_type=media_type, size=size, occurred_at=seen.when,
                 details=details)  # fmt: skip


def merge_pulls(pending: Sequence[Event | Seen]) -> list[Event | tuple[Seen, int]]:
    """``pending`` with the pulls of one reference (repository and tag or digest) by the same
    user from the same client host and user agent made one, at the place of the first, with
    the number of pulls it stands for. Everything else stays as it is, in order."""
    out: list[Event | tuple[Seen, int]] = []
    first: dict[tuple[object, ...], int] = {}
    counts: dict[int, int] = {}
    for item in pending:
        if isinstance(item, Event):
            out.append(item)
            continue
        if item.type != PULL_ARTIFACT:
            out.append((item, 1))
            continue
        key = (item.repository, item.reference, item.found, item.operator,
               item.client.rpartition(":")[0], item.user_agent)  # fmt: skip
        at = first.get(key)
        if at is None:
            first[key] = len(out)
            out.append((item, 1))
        else:
            counts[at] = counts.get(at, 1) + 1
    for at, n in counts.items():
        seen = out[at]
        assert isinstance(seen, tuple)
        out[at] = (seen[0], n)
    return out


def _pushed_by(event: Event, seen: Seen) -> bool:
    """Whether ``event`` is a push the request ``seen`` made (same repository; the path's
    reference is the manifest's digest or one of the tags it set)."""
    return (
        event.type == PUSH_ARTIFACT
        and not event.operator
        and event.repository == seen.repository
        and seen.reference in (event.digest, event.tag)
    )


def _pair_pushes(pending: list[Event | Seen]) -> list[Event | Seen]:
    """``pending`` with each push given the operator of the request that made it (the
    observer's record comes after the push's events), and those records taken out."""
    out: list[Event | Seen] = []
    for item in pending:
        if isinstance(item, Seen) and item.type == PUSH_ARTIFACT:
            for n, earlier in enumerate(out):
                if isinstance(earlier, Event) and _pushed_by(earlier, item):
                    out[n] = replace(earlier, operator=item.operator)
            continue
        out.append(item)
    return out


def _split_unclaimed(
    pending: list[Event | Seen], *, after: int = 0
) -> tuple[list[Event | Seen], list[Event | Seen]]:
    """(what can go now, what waits): everything from the first push (at ``after`` or later)
    whose request has not been seen yet (its operator unknown)."""
    for n, item in enumerate(pending):
        if (
            n >= after
            and isinstance(item, Event)
            and item.type == PUSH_ARTIFACT
            and not item.operator
        ):
            return pending[:n], pending[n:]
    return pending, []


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
        self.endpoints: tuple[Endpoint, ...] = ()
        self._endpoint_types: frozenset[str] = frozenset()
        self.add_endpoints(endpoints)
        self.resolve = resolve
        self.host = host
        self.interval = interval
        self.size = size
        self.wake = wake
        #: called with the notification endpoints' deliveries once they are queued
        self.queued: Callable[[Sequence[NewTask]], None] | None = None
        self.dropped = 0
        self.written = 0
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._pending: list[Event | Seen] = []
        #: the tail of the last batch, from a push whose request was not seen yet
        self._held: list[Event | Seen] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-sink", daemon=True)
        if start:
            self._thread.start()

    def publish(self, event: Event) -> None:
        """Note ``event`` (never blocks on the database, never raises). Without policies, an
        event of a type no notification endpoint takes is dropped at once."""
        if self.wants(event.type):
            self._add(event)

    def note(self, seen: Seen) -> None:
        """Note a request the registry answered (a response observer's :meth:`publish`)."""
        self._add(seen)

    def wants(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` may be delivered anywhere (with policies:
        always, they are in the database)."""
        return self.policies is not None or event_type in self._endpoint_types

    def _add(self, item: Event | Seen) -> None:
        with self._lock:
            if len(self._pending) < self.size:
                self._pending.append(item)
                return
            self.dropped += 1
            dropped = self.dropped
        if dropped == 1 or dropped % 1000 == 0:
            log.warning("webhooks: %d events dropped, the database cannot keep up", dropped)

    def add_endpoints(self, endpoints: Sequence[Endpoint]) -> None:
        """registry:2 notification endpoints, besides those given before."""
        self.endpoints += tuple(endpoints)
        self._endpoint_types = frozenset(
            kind
            for kind in EVENT_TYPES
            for e in self.endpoints
            if (action := distribution_action(kind)) is not None and action not in e.ignored_actions
        )

    def flush(self, *, wait_for_pushers: bool = False) -> int:
        """Write what gathered now; the number of deliveries queued. ``wait_for_pushers``
        (the background thread's writes): a push whose request has not been seen yet (its
        operator unknown) waits for the next write, with what came after it — once."""
        with self._flushing:
            return self._flush(wait_for_pushers)

    def _flush(self, wait_for_pushers: bool) -> int:
        with self._lock:
            pending, self._pending = self._pending, []
        held, self._held = self._held, []
        pending = _pair_pushes(held + pending)
        if not pending:
            return 0
        if wait_for_pushers:  # what waited once goes now
            pending, self._held = _split_unclaimed(pending, after=len(held))
        try:
            queued = self._write(pending)
        except Exception:
            log.exception("webhooks: cannot queue %d events; retrying", len(pending))
            with self._lock:
                self._pending[:0] = pending + self._held
            self._held = []
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
            self.flush(wait_for_pushers=True)

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

    def _events(self, pending: Sequence[Event | Seen]) -> list[Event]:
        """Events of what was noted: requests made events (pulls merged)."""
        out: list[Event] = []
        for item in merge_pulls(pending):
            if isinstance(item, Event):
                out.append(item)
                continue
            seen, count = item
            out.append(_event(seen, seen.found, count))
        return out

    def _write(self, noted: list[Event | Seen]) -> int:
        pending = self._events(noted)
        infos: dict[str, ProjectInfo | None] = {}
        by_project: dict[int, list[Policy]] = {}
        if self.policies is not None and self.projects is not None:
            for name in {e.project for e in pending if e.project}:
                infos[name] = self.projects(name)
            ids = [i.id for i in infos.values() if i is not None]
            if ids:
                with self.db.read() as conn:
                    by_project = self.policies.for_projects(conn, ids)
        # what each event is queued for; an event nothing asks for is dropped here, before
        # its tag is resolved
        wanted: list[tuple[Event, list[Policy]]] = []
        for event in pending:
            info = infos.get(event.project)
            chosen = [] if info is None else [
                p for p in by_project.get(info.id, ()) if p.wants(event.type)
            ]  # fmt: skip
            if chosen or event.type in self._endpoint_types:
                wanted.append((self._complete(event), chosen))
        if not wanted:
            return 0
        now = time.time()
        queued = 0
        bare = self._endpoint_tasks([event for event, _ in wanted])
        with self.db.write() as conn:
            for event, chosen in wanted:
                info = infos.get(event.project)
                assert info is not None or not chosen
                for policy in chosen:
                    assert info is not None
                    items = self._policy_tasks(policy, event, info)
                    enqueue(conn, policy_id=policy.id, endpoint="", event_type=event.type,
                            items=items, now=now)  # fmt: skip
                    queued += len(items)
            # notification endpoints' deliveries: no execution rows
            enqueue_tasks(conn, [(0, item) for item in bare], now)
        if self.queued is not None and bare:
            try:
                self.queued(bare)
            except Exception:  # they are queued: never queue them again for this
                log.exception("webhooks: cannot count the deliveries queued")
        return queued + sum(item.events for item in bare)

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

    def _endpoint_tasks(self, events: Sequence[Event]) -> list[NewTask]:
        """Each endpoint's events of a batch, in order, as envelopes of at most
        ``MAX_ENVELOPE`` events: one queued row per envelope, not per event (distribution
        batches its envelopes too; every request still is one event)."""
        out = []
        for endpoint in self.endpoints:
            items = []
            for event in events:
                action = distribution_action(event.type)
                if action is not None and endpoint.wants(action, event.media_type):
                    items.append(distribution_event(event, host=self.host))
            headers = {**endpoint.headers, "Content-Type": DISTRIBUTION_EVENTS}
            for start in range(0, len(items), MAX_ENVELOPE):
                chunk = items[start : start + MAX_ENVELOPE]
                out.append(NewTask(endpoint.url, distribution_envelope_of(chunk), headers,
                                   timeout=endpoint.timeout, max_attempts=endpoint.threshold,
                                   backoff=endpoint.backoff, events=len(chunk),
                                   endpoint=endpoint.name))  # fmt: skip
        return out
