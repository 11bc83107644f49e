"""Tag retention (Harbor's retention policies): rules that retain artifacts by push or pull
recency, age, tags, repositories and labels; what no rule retains is deleted — never what a
tag-immutability rule protects, never a signature whose subject stays. Dry runs, history
with per-artifact results, cron schedules."""

from dockyard.registry.retention._evaluate import (
    Candidate,
    Decision,
    accessory_subject,
    evaluate,
    repositories_in_scope,
)
from dockyard.registry.retention._model import (
    METADATA,
    Policy,
    Rule,
    Selector,
    parse_policy,
    policy_json,
)
from dockyard.registry.retention._pulls import PullRecorder, pull_times
from dockyard.registry.retention._runner import DELETED, ERROR, IMMUTABLE, RETAINED, task_log
from dockyard.registry.retention._schedule import RetentionSchedule, next_fire
from dockyard.registry.retention._service import MANUAL, SCHEDULE, RetentionService
from dockyard.registry.retention._store import Execution, Result, Task

__all__ = [
    "DELETED",
    "ERROR",
    "IMMUTABLE",
    "MANUAL",
    "METADATA",
    "RETAINED",
    "SCHEDULE",
    "Candidate",
    "Decision",
    "Execution",
    "Policy",
    "PullRecorder",
    "Result",
    "RetentionSchedule",
    "RetentionService",
    "Rule",
    "Selector",
    "Task",
    "accessory_subject",
    "evaluate",
    "next_fire",
    "parse_policy",
    "policy_json",
    "pull_times",
    "repositories_in_scope",
    "task_log",
]
