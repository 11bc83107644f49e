"""The replication worker: threads that turn pushes into tasks (event-based policies), claim
due tasks from the queue and copy each artifact. A failed copy (the destination down,
refusing, answering 5xx) is tried again after ``backoff * 2**(attempt-1)`` seconds (at most
``max_wait``), scaled by a random factor in [0.5, 1]; after its last attempt it is marked
failed, with its log. A worker that stops gives back what it holds: the tasks are due again
at once, in this process or another. The clock and the random source are injectable."""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass

from dockyard.client import Transport
from dockyard.errors import DockyardError
from dockyard.registry import jobs
from dockyard.registry._registry import Registry
from dockyard.registry.jobs import PollLoop, next_wait
from dockyard.registry.replication._copy import CopyStats, destination_transport
from dockyard.registry.replication._policies import EVENT_BASED, Policy, PolicyStore
from dockyard.registry.replication._prepare import PROJECT_ENDPOINTS, DestinationProjects
from dockyard.registry.replication._queue import Job, NewTask, ReplicationQueue
from dockyard.registry.replication._registries import RegistryStore, RemoteRegistry
from dockyard.registry.replication._runner import task_runner

__all__ = ["MAX_WAIT", "Pushed", "ReplicationWorker", "retry_delay", "tasks_for_push"]

log = logging.getLogger("dockyard.registry.replication")

#: Longest wait between two attempts (by default); idle poll (other processes' rows,
#: leases run out).
MAX_WAIT = 600.0
POLL = 1.0
#: Seconds between two renewals of a running task's lease.
RENEW_EVERY = 30.0


def retry_delay(backoff: float, attempt: int, jitter: float, max_wait: float = MAX_WAIT) -> float:
    """The wait after failed attempt number ``attempt`` (1-based); ``jitter`` in [0, 1]."""
    return jobs.retry_delay(backoff, attempt, jitter, max_wait)


@dataclass(frozen=True, slots=True)
class Pushed:
    """A manifest stored by a push: its repository, digest, the tags the push set, and the
    subject it refers to (a referrer)."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    subject: str | None = None


def tasks_for_push(policy: Policy, pushed: Pushed) -> list[NewTask]:
    """What ``policy`` copies for one push: each pushed tag its filters select; for a
    referrer pushed by digest, its subject (whose copy brings its referrers along)."""
    if not policy.selects_repository(pushed.repository):
        return []
    target = policy.destination(pushed.repository)
    out = [
        NewTask(pushed.repository, tag, target, tag)
        for tag in pushed.tags
        if policy.selects_tag(tag)
    ]
    if not pushed.tags and pushed.subject:
        out.append(NewTask(pushed.repository, pushed.subject, target, ""))
    elif not pushed.tags and policy.selects_untagged:  # Harbor: matched as the empty tag
        out.append(NewTask(pushed.repository, pushed.digest, target, ""))
    return out


#: Blobs remembered per destination as mount sources (the most recently seen).
MOUNTS_KEPT = 100_000


class _Mounts(MutableMapping[str, str]):
    """digest → a repository at one destination known to hold it: a bounded, thread-safe
    map, shared by the copies to that destination."""

    def __init__(self, lock: threading.Lock, limit: int = MOUNTS_KEPT) -> None:
        self._lock = lock
        self._limit = limit
        self._map: OrderedDict[str, str] = OrderedDict()

    def __getitem__(self, key: str) -> str:
        with self._lock:
            return self._map[key]

    def __setitem__(self, key: str, value: str) -> None:
        with self._lock:
            self._map[key] = value
            self._map.move_to_end(key)
            while len(self._map) > self._limit:
                self._map.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._map[key]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            return iter(list(self._map))

    def __len__(self) -> int:
        with self._lock:
            return len(self._map)


class _RepositoryLocks:
    """One lock per (endpoint, destination repository), held by the copy running into it,
    so that two tasks of one process never write into one destination repository at once
    (a tag and a referrer's subject, two tags of one image: the same blobs and manifest).
    A registry such as distribution 2.8.2 rewrites a repository's blob links in place, and
    two uploads of one blob into one repository at once can make it refuse the manifest
    (DIGEST_INVALID). Locks exist while they are held or waited for (bounded by the
    threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[int, str], tuple[threading.Lock, int]] = {}

    def _take(self, key: tuple[int, str]) -> threading.Lock:
        with self._lock:
            lock, users = self._held.get(key, (threading.Lock(), 0))
            self._held[key] = (lock, users + 1)
            return lock

    def _leave(self, key: tuple[int, str]) -> None:
        with self._lock:
            lock, users = self._held[key]
            if users == 1:
                del self._held[key]
            else:
                self._held[key] = (lock, users - 1)

    @contextlib.contextmanager
    def hold(self, key: tuple[int, str], waiting: Callable[[], None]) -> Iterator[None]:
        """Hold ``key``'s lock; ``waiting`` is called about every second until it is free
        (it renews the task's lease, and raises to give up)."""
        lock = self._take(key)
        try:
            while not lock.acquire(timeout=1.0):
                waiting()
            try:
                yield
            finally:
                lock.release()
        finally:
            self._leave(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


def _ignore(job: Job, ok: bool, retried: bool, stats: CopyStats | None) -> None:
    return None


class _Stopping(Exception):
    """The worker is closing: give the task back."""


class ReplicationWorker:
    """Runs the queue from ``threads`` daemon threads (:meth:`start`), or one task at a time
    (:meth:`run_once`)."""

    def __init__(
        self,
        registry: Registry,
        queue: ReplicationQueue,
        policies: PolicyStore,
        registries: RegistryStore,
        *,
        threads: int = 2,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        poll: float = POLL,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self.registry = registry
        self.queue = queue
        self.policies = policies
        self.registries = registries
        self.clock = clock
        self.jitter = jitter
        self.poll = poll
        self.max_wait = max_wait
        self.copied = 0
        self.failed = 0
        #: told of each attempt's end (job, ok, retried, its stats): metrics, events
        self.on_finish: Callable[[Job, bool, bool, CopyStats | None], None] = _ignore
        self._pushed: list[Pushed] = []
        self._lock = threading.Lock()
        self._transports: dict[tuple[int, float], Transport] = {}
        #: the endpoints of the transports made (their type decides the push's preparation)
        self._endpoints: dict[int, RemoteRegistry] = {}
        #: the destination projects found or made (Harbor-type endpoints)
        self.projects = DestinationProjects(registry)
        self._mounts: dict[str, _Mounts] = {}
        self._mounts_lock = threading.Lock()
        #: the destination repositories copies of this process are writing into
        self.repositories = _RepositoryLocks()
        self._loop = PollLoop(
            self.run_once, names=[f"replication-{n}" for n in range(max(1, threads))],
            poll=poll, log=log, what="replication",
        )  # fmt: skip

    def start(self) -> ReplicationWorker:
        self._loop.start()
        return self

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._loop.wake()

    def pushed(self, pushed: Pushed) -> None:
        """A push happened (called on request paths: only remembered here)."""
        with self._lock:
            self._pushed.append(pushed)
        self._loop.wake()

    def close(self) -> None:
        """Queue what pushes are pending, stop, and give back the tasks being copied."""
        self._loop.close(timeout=30)
        self.dispatch()

    # --- one round ---------------------------------------------------------------------------

    def dispatch(self) -> int:
        """Turn the pushes remembered so far into executions of the event-based policies
        that select them (one execution per policy); the number of tasks queued."""
        with self._lock:
            pushed, self._pushed = self._pushed, []
        if not pushed:
            return 0
        queued = 0
        now = self.clock()
        for policy in self.policies.triggered_by_events():
            items = [t for p in pushed for t in tasks_for_push(policy, p)]
            if items:
                self.queue.start(policy.id, EVENT_BASED, items, now)
                queued += len(items)
        return queued

    def run_once(self) -> int:
        """Dispatch pushes, then claim one due task and run it; tasks run (0 or 1)."""
        self.dispatch()
        claimed = self.queue.claim(self.clock(), 1)
        for job in claimed:
            self.run(job)
        return len(claimed)

    def transport(self, endpoint_id: int) -> tuple[Transport, str, _Mounts]:
        """The client of an endpoint registry (made once per version of the endpoint), its
        URL, and what blobs its repositories are known to hold."""
        endpoint = self.registries.get(endpoint_id)
        key = (endpoint.id, endpoint.update_time)
        with self._lock:
            self._endpoints[endpoint.id] = endpoint
            transport = self._transports.get(key)
            if transport is None:
                transport = self._transports[key] = destination_transport(endpoint)
            mounts = self._mounts.get(endpoint.url)
            if mounts is None:
                mounts = self._mounts[endpoint.url] = _Mounts(self._mounts_lock)
        return transport, endpoint.url, mounts

    def _preparation(
        self, policy: Policy, job: Job, transport: Transport
    ) -> Callable[[NewTask], str | None] | None:
        """How a push copy of ``job`` readies its destination: for a Harbor-type endpoint,
        its project made there when missing (Harbor's PrepareForPush)."""
        with self._lock:
            endpoint = self._endpoints.get(policy.endpoint_id)
        if policy.pull or endpoint is None or endpoint.type not in PROJECT_ENDPOINTS:
            return None
        projects = self.projects

        def prepare(task: NewTask) -> str | None:
            return projects.ensure(endpoint, transport, job.execution_id, task.src_repository,
                                   task.dst_repository)  # fmt: skip

        return prepare

    def run(self, job: Job) -> None:
        started = self.clock()
        renewed = [time.monotonic()]

        def check() -> None:
            if self._loop.stopping.is_set():
                raise _Stopping
            if time.monotonic() - renewed[0] > RENEW_EVERY:
                renewed[0] = time.monotonic()
                if not self.queue.renew(job, self.clock()):
                    raise _Stopping  # stopped, or taken over: stop copying

        what = f"{job.task.src_repository}:{job.task.src_reference}"
        lines: list[str] = []
        used: CopyStats | None = None
        ok, message, retry = False, "", False
        try:
            policy = self.policies.get(job.policy_id)
            transport, url, mounts = self.transport(policy.endpoint_id)
            with self._lock:
                endpoint = self._endpoints.get(policy.endpoint_id)
            copy = task_runner(self.registry, policy, job, transport, url, check, mounts,
                               self._preparation(policy, job, transport),
                               harbor_labels=endpoint is not None and endpoint.type == "harbor")  # fmt: skip
            where = (policy.endpoint_id, job.task.dst_repository)
            with self.repositories.hold(where, check):
                try:
                    stats = copy.run(job.task)
                finally:
                    lines, used = copy.stats.lines, copy.stats
            ok, message = True, stats.summary()
        except _Stopping:
            self.queue.release([job], self.clock())
            return
        except DockyardError as exc:
            message, retry = f"{type(exc).__name__}: {exc}", exc.retryable
        except OSError as exc:  # reading the source's storage, a socket: try again later
            message, retry = f"{type(exc).__name__}: {exc}", True
        now = self.clock()
        attempt = job.run_count + 1
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        head = (f"{stamp} attempt {attempt}/{job.max_attempts}: {job.task.operation} {what} "
                f"({now - started:.3f} s)")  # fmt: skip
        wait = None
        if not ok and retry:
            wait = next_wait(attempt, job.max_attempts, job.backoff, self.jitter, self.max_wait)
        retry_at = None if wait is None else now + wait
        if ok:
            self.copied += 1
            tail = f"done: {message}"
        elif wait is not None:
            tail = f"failed: {message}; next attempt in {wait:.1f} s"
        else:
            self.failed += 1
            tail = f"failed: {message}; " + (
                "no attempts left, marked failed" if retry else "not retried"
            )
            log.warning("replication of %s failed: %s", what, message)
        text = "".join(f"  {line}\n" for line in lines)
        self.queue.finish(
            job, ok=ok, message=message, log=f"{head}\n{text}  {tail}\n", now=now,
            retry_at=retry_at,
        )  # fmt: skip
        self.on_finish(job, ok, retry_at is not None, used)
