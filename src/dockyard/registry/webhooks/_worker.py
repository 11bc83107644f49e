"""The delivery worker: a thread that claims due deliveries from the queue, POSTs each (with
its timeout), and records the outcome. A failure (a connection error, a timeout, any status
but 2xx) is tried again after ``backoff * 2**(attempt-1)`` seconds (at most ``MAX_WAIT``),
scaled by a random factor in [0.5, 1] (jitter, so that many deliveries to a target that was
down do not all return at once); after ``max_attempts`` attempts it is marked failed, and
stays in the log. The clock and the random source are injectable (tests)."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence

import httpx

from dockyard.registry import jobs
from dockyard.registry.jobs import Outcome, PollLoop, next_wait
from dockyard.registry.webhooks._metrics import NotificationMetrics
from dockyard.registry.webhooks._payloads import DISTRIBUTION_EVENTS
from dockyard.registry.webhooks._queue import Delivery, DeliveryQueue

__all__ = ["DeliveryWorker", "retry_delay"]

log = logging.getLogger("dockyard.registry.webhooks")

#: Longest wait between two attempts; idle poll (other processes' rows, leases run out).
MAX_WAIT = 3600.0
POLL = 1.0
#: Seconds between two sweeps of the delivery log (:meth:`DeliveryQueue.sweep`).
SWEEP_EVERY = 600.0
#: Most events in one envelope to a registry:2 notification endpoint.
MAX_ENVELOPE = 64


def retry_delay(backoff: float, attempt: int, jitter: float) -> float:
    """The wait after failed attempt number ``attempt`` (1-based); ``jitter`` in [0, 1]."""
    return jobs.retry_delay(backoff, attempt, jitter, MAX_WAIT)


class DeliveryWorker:
    """Delivers what the queue holds, from one daemon thread (:meth:`start`), or one round at
    a time (:meth:`run_once`)."""

    def __init__(
        self,
        queue: DeliveryQueue,
        *,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        poll: float = POLL,
        batch: int = 64,
        sweep_every: float = SWEEP_EVERY,
    ) -> None:
        self.queue = queue
        self.clock = clock
        self.jitter = jitter
        self.poll = poll
        self.batch = batch
        self.sweep_every = sweep_every
        self._swept_at = 0.0
        self.delivered = 0
        self.failed = 0
        #: registry:2 notification endpoints' counters (the registry's metrics, when on)
        self.metrics: NotificationMetrics | None = None
        self._loop = PollLoop(
            self.run_once, names=("webhook-delivery",), poll=poll, log=log,
            what="webhook delivery", after=self._sweep,
        )  # fmt: skip
        self._clients: dict[bool, httpx.Client] = {}

    def start(self) -> DeliveryWorker:
        self._loop.start()
        return self

    def wake(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._loop.wake()

    def close(self) -> None:
        self._loop.close(timeout=15)
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def run_once(self) -> int:
        """Claim what is due now and attempt each; the number of deliveries attempted."""
        claimed = self.queue.claim(self.clock(), self.batch)
        self.deliver(claimed)
        return len(claimed)

    def deliver(self, claimed: Sequence[Delivery]) -> None:
        """Attempt claimed deliveries and record the outcomes (one transaction). Deliveries
        of distribution's envelope to the same endpoint go as one envelope of their events,
        as distribution's own endpoints batch them."""
        groups = _groups(claimed)
        outcomes: list[Outcome] = []
        for n, (group, body) in enumerate(groups):
            if self._loop.stopping.is_set():  # stopping: the rest are due again, anywhere
                self.queue.release([d for g, _ in groups[n:] for d in g], self.clock())
                break
            outcomes += self._attempt(group, body)
        self.queue.finish_many(outcomes, self.clock())

    def _client(self, verify: bool) -> httpx.Client:
        client = self._clients.get(verify)
        if client is None:
            client = self._clients[verify] = httpx.Client(verify=verify, trust_env=False)
        return client

    def _attempt(self, group: list[Delivery], body: bytes) -> list[Outcome]:
        first = group[0]
        started = self.clock()
        status: int | None = None
        try:
            response = self._client(first.verify).post(
                first.address,
                content=body,
                headers=first.headers,
                timeout=max(d.timeout for d in group),
            )
            status = response.status_code
            ok = 200 <= status < 300
            outcome = f"{response.status_code} {response.reason_phrase}".strip()
        except httpx.HTTPError as exc:
            ok = False
            outcome = f"{type(exc).__name__}: {exc}"[:300]
        now = self.clock()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        shared = f" ({len(group)} events in one envelope)" if len(group) > 1 else ""
        out = []
        for delivery in group:
            if self.metrics is not None:
                self.metrics.attempted(delivery, status)
            attempt = delivery.run_count + 1
            line = (
                f"{stamp} attempt {attempt}/{delivery.max_attempts}: POST {delivery.address} "
                f"-> {outcome} ({now - started:.3f} s){shared}"
            )
            retry_at = None
            wait = None if ok else next_wait(
                attempt, delivery.max_attempts, delivery.backoff, self.jitter, MAX_WAIT
            )  # fmt: skip
            if wait is not None:
                retry_at = now + wait
                line += f"; next attempt in {wait:.1f} s"
            elif not ok:
                line += "; no attempts left, marked failed"
                self.failed += 1
                log.warning("webhook delivery %d to %s failed: %s", delivery.id,
                            delivery.address, outcome)  # fmt: skip
            else:
                self.delivered += 1
            out.append(Outcome(delivery, ok, outcome, line, retry_at))
        return out

    def _sweep(self) -> None:
        """Bound the delivery log, every ``sweep_every`` seconds."""
        if time.monotonic() - self._swept_at < self.sweep_every:
            return
        self._swept_at = time.monotonic()
        try:
            self.queue.sweep()
        except Exception:
            log.exception("webhook delivery log: cannot sweep")


_HEAD = b'{"events":['
_TAIL = b"]}"
_EVENT_KEY = b'"action":'


def _count(payload: bytes) -> int:
    """Events in a compact envelope: each has one ``action`` key (inside a JSON string the
    quotes would be escaped, so the bytes cannot occur there)."""
    return payload.count(_EVENT_KEY)


def _groups(claimed: Sequence[Delivery]) -> list[tuple[list[Delivery], bytes]]:
    """Each delivery alone, except distribution envelopes to the same endpoint (same address,
    headers and verification), which go together as one envelope of their events (at most
    ``MAX_ENVELOPE`` events, unless one row holds more); with the body to send. Envelopes
    are spliced, not parsed again."""
    out: list[tuple[list[Delivery], bytes]] = []
    open_groups: dict[tuple[str, str, bool], tuple[list[Delivery], list[int]]] = {}
    for delivery in claimed:
        body = delivery.payload
        if delivery.headers.get("Content-Type") != DISTRIBUTION_EVENTS or not (
            body.startswith(_HEAD) and body.endswith(_TAIL)
        ):
            out.append(([delivery], body))
            continue
        count = _count(body)
        key = (delivery.address, json.dumps(delivery.headers, sort_keys=True), delivery.verify)
        group = open_groups.get(key)
        if group is None or group[1][0] + count > MAX_ENVELOPE:
            group = open_groups[key] = ([], [0])
            out.append((group[0], b""))
        group[0].append(delivery)
        group[1][0] += count
    return [(group, body or _envelope(group)) for group, body in out]


def _envelope(group: Sequence[Delivery]) -> bytes:
    if len(group) == 1:
        return group[0].payload
    inner = b",".join(d.payload[len(_HEAD) : -len(_TAIL)] for d in group)
    return _HEAD + inner + _TAIL
