"""Webhooks and registry:2 notifications: Harbor's per-project webhook policies and
distribution's ``notifications.endpoints``, delivered from a persistent queue in the
registry's database (retries with exponential backoff and jitter, a delivery log, nothing
lost across restarts, no row delivered twice by several processes)."""

from dockyard.registry.webhooks._endpoints import Endpoint, notification_endpoints
from dockyard.registry.webhooks._hooks import PushEvents, event_observer
from dockyard.registry.webhooks._payloads import (
    CLOUDEVENTS,
    CLOUDEVENTS_JSON,
    DEFAULT,
    DISTRIBUTION_EVENTS,
    SIGNATURE_HEADER,
    cloudevents_type,
    sign,
)
from dockyard.registry.webhooks._policies import (
    NOTIFY_TYPES,
    PAYLOAD_FORMATS,
    Policy,
    PolicyStore,
    Target,
    new_policy,
)
from dockyard.registry.webhooks._queue import DeliveryQueue, ExecutionInfo, TaskInfo
from dockyard.registry.webhooks._service import Webhooks, open_webhooks, projects_of
from dockyard.registry.webhooks._sink import ProjectInfo, WebhookSink
from dockyard.registry.webhooks._worker import DeliveryWorker, retry_delay

__all__ = [
    "CLOUDEVENTS",
    "CLOUDEVENTS_JSON",
    "DEFAULT",
    "DISTRIBUTION_EVENTS",
    "NOTIFY_TYPES",
    "PAYLOAD_FORMATS",
    "SIGNATURE_HEADER",
    "DeliveryQueue",
    "DeliveryWorker",
    "Endpoint",
    "ExecutionInfo",
    "Policy",
    "PolicyStore",
    "ProjectInfo",
    "PushEvents",
    "Target",
    "TaskInfo",
    "WebhookSink",
    "Webhooks",
    "cloudevents_type",
    "event_observer",
    "new_policy",
    "notification_endpoints",
    "open_webhooks",
    "projects_of",
    "retry_delay",
    "sign",
]
