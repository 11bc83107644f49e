"""Background jobs of the registry: one leased task queue in the registry's database (claims
with leases, renewals, retries with backoff, takeover of a dead process's rows, resuming
after a restart, stopping an execution), the threads that work such a queue, and cron
schedules fired once per due time across the processes sharing the database. Webhook
deliveries, replication copies and scans are queues of this kind; retention, replication and
garbage collection schedules fire through it. Each feature keeps its own tables."""

from dockyard.registry.jobs._cron import PRESETS, fire_due, next_fire, schedule_cron, valid_cron
from dockyard.registry.jobs._loop import PollLoop
from dockyard.registry.jobs._owners import Owners, owner_key
from dockyard.registry.jobs._queue import LEASE_MARGIN, FeatureQueue, LeasedQueue
from dockyard.registry.jobs._retry import next_wait, retry_delay
from dockyard.registry.jobs._schedule import CronSchedule
from dockyard.registry.jobs._tasks import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    Claim,
    Held,
    Leased,
    Outcome,
    TaskState,
    execution_status,
    new_task,
    task_columns,
)
from dockyard.registry.jobs._ticker import Ticker

__all__ = [
    "ERROR",
    "LEASE_MARGIN",
    "PENDING",
    "PRESETS",
    "RUNNING",
    "STOPPED",
    "SUCCESS",
    "Claim",
    "CronSchedule",
    "FeatureQueue",
    "Held",
    "Leased",
    "LeasedQueue",
    "Outcome",
    "Owners",
    "PollLoop",
    "TaskState",
    "Ticker",
    "execution_status",
    "fire_due",
    "new_task",
    "next_fire",
    "next_wait",
    "owner_key",
    "retry_delay",
    "schedule_cron",
    "task_columns",
    "valid_cron",
]
