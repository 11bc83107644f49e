"""distribution's ``registry_notifications_*`` Prometheus families (distribution 3's
``notifications/metrics.go``; 2.8 has them only in expvar) for registry:2's
``notifications.endpoints``:

- ``registry_notifications_events_total{type,endpoint}`` (counter): ``Events`` queued for the
  endpoint, and per attempt ``Successes`` (2xx), ``Failures`` (any other status) and
  ``Errors`` (no answer: refused, timed out) — events, not requests, as distribution counts
  them (it sends one event per request; dockyard's envelopes may carry several);
- ``registry_notifications_status_total{code,endpoint}`` (counter): the events of the
  attempts answered with each status, ``code`` written as distribution writes it
  ("200 OK", "500 Internal Server Error");
- ``registry_notifications_pending_total{endpoint}`` (gauge): events queued and not yet
  delivered nor given up, read from the delivery queue when the page is scraped — right
  whichever process queued or delivers them, and after any restart.

The counters count where it happens (the process that queued, the one that attempted) and
add up across worker processes like the registry's other counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from http import HTTPStatus

from dockyard.registry.metrics import Counter, MetricsRegistry, ReadGauge
from dockyard.registry.webhooks._queue import Delivery, DeliveryQueue, NewTask

__all__ = ["NotificationMetrics", "status_text"]

EVENTS, SUCCESSES, FAILURES, ERRORS = "Events", "Successes", "Failures", "Errors"


def status_text(code: int) -> str:
    """``code`` as distribution labels it: the number and Go's status text ("200 OK")."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    return f"{code} {phrase}"


class NotificationMetrics:
    """The three families on ``registry``; ``endpoints``: the configured endpoints' names,
    shown with a pending count of 0 when nothing waits for them."""

    def __init__(
        self, registry: MetricsRegistry, queue: DeliveryQueue, endpoints: Iterable[str] = ()
    ) -> None:
        self.queue = queue
        self.endpoints = tuple(endpoints)
        self.events: Counter = registry.counter(
            "registry_notifications_events_total", "The number of total events",
            ["type", "endpoint"],
        )  # fmt: skip
        self.status: Counter = registry.counter(
            "registry_notifications_status_total", "The number of status code",
            ["code", "endpoint"],
        )  # fmt: skip
        self.pending = registry.register(
            ReadGauge(
                "registry_notifications_pending_total",
                "The gauge of pending events in queue",
                ["endpoint"],
                self._pending,
            )
        )

    def _pending(self) -> dict[tuple[str, ...], float]:
        found: dict[tuple[str, ...], float] = {(name,): 0.0 for name in self.endpoints}
        for name, count in self.queue.pending_events().items():
            found[(name,)] = float(count)
        return found

    def queued(self, items: Sequence[NewTask]) -> None:
        """Deliveries to notification endpoints were queued (the sink's write)."""
        for item in items:
            if item.endpoint:
                self.events.add((EVENTS, item.endpoint), float(item.events))

    def attempted(self, delivery: Delivery, status: int | None) -> None:
        """One attempt of ``delivery``: answered with ``status`` (None: no answer)."""
        if not delivery.endpoint:
            return  # a webhook policy's delivery
        n = float(delivery.events)
        if status is None:
            self.events.add((ERRORS, delivery.endpoint), n)
            return
        ok = 200 <= status < 300
        self.events.add((SUCCESSES if ok else FAILURES, delivery.endpoint), n)
        self.status.add((status_text(status), delivery.endpoint), n)
