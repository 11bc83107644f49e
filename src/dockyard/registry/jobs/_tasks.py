"""What the leased queue knows of a task, whatever its feature: the statuses, a claim, what
a feature's worker holds and what its listings show, an attempt's outcome, the columns every
task table has and the values of a new task's, and an execution's status from its tasks'."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Float, Integer, Row, String, Text

__all__ = [
    "ERROR",
    "PENDING",
    "RUNNING",
    "STOPPED",
    "SUCCESS",
    "Claim",
    "Held",
    "Leased",
    "Outcome",
    "TaskState",
    "execution_status",
    "new_task",
    "task_columns",
]

PENDING = "Pending"
RUNNING = "Running"
SUCCESS = "Success"
ERROR = "Error"
STOPPED = "Stopped"


class Leased(Protocol):
    """A claimed task as a worker holds it: its row, its claim's token, its attempts."""

    @property
    def id(self) -> int: ...

    @property
    def lease(self) -> str: ...

    @property
    def run_count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Claim:
    """A task claimed for this process: its row and the claim's token on it (a row taken
    over by another process no longer has it)."""

    row: Row[Any]
    lease: str

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def run_count(self) -> int:
        return int(self.row.run_count)


@dataclass(frozen=True, slots=True)
class Held:
    """A claimed task as a feature's worker holds it (the feature's subclass adds what the
    task is): its row's id, attempts made and allowed, backoff, and the claim's token on the
    row (a row taken over by another process no longer has it)."""

    id: int
    run_count: int
    max_attempts: int
    backoff: float
    lease: str

    @staticmethod
    def fields(claim: Claim) -> dict[str, Any]:
        """The queue's fields of a claim, for a subclass's constructor."""
        r = claim.row
        return {"id": r.id, "run_count": r.run_count, "max_attempts": r.max_attempts,
                "backoff": r.backoff, "lease": claim.lease}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TaskState:
    """Where a task stands, as listings show it (the feature's subclass adds what the task
    is)."""

    id: int
    execution_id: int
    status: str
    status_message: str
    run_count: int
    log: str
    creation_time: float
    update_time: float
    start_time: float
    end_time: float

    @staticmethod
    def fields(row: Row[Any]) -> dict[str, Any]:
        """The queue's fields of a task's row, for a subclass's constructor."""
        return {name: getattr(row, name) for name in _STATE}


_STATE = tuple(TaskState.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result: Success (``ok``), Pending again at ``retry_at``, or Error (not
    ``ok`` and ``retry_at`` None: no attempts left); ``log`` is added to the task's log."""

    task: Leased
    ok: bool
    message: str
    log: str
    retry_at: float | None


def new_task(now: float) -> dict[str, Any]:
    """The queue's columns of a task queued at ``now`` (due at once)."""
    return {
        "status": PENDING, "status_message": "", "run_count": 0, "next_time": now,
        "lease_owner": "", "lease_until": 0.0, "log": "", "creation_time": now,
        "update_time": now, "start_time": 0.0, "end_time": 0.0,
    }  # fmt: skip


def execution_status(counts: Mapping[str, int], *, waiting: str = RUNNING) -> str:
    """An execution's status from its tasks' counts by status: while some are Pending or
    Running, Running (``waiting`` while none has been attempted yet); then Error if one
    failed, Stopped if one was stopped, else Success (an execution with no task included)."""
    if counts.get(PENDING) or counts.get(RUNNING):
        started = counts.get(SUCCESS) or counts.get(ERROR) or counts.get(RUNNING)
        return RUNNING if started else waiting
    if counts.get(ERROR):
        return ERROR
    if counts.get(STOPPED):
        return STOPPED
    return SUCCESS


def task_columns() -> list[Column[Any]]:
    """The columns the leased queue reads and writes, new for each feature's task table (a
    feature adds its own before them): attempts and backoff, status and its message, the next
    attempt's time, the lease, the attempts' log and the task's times."""
    return [
        Column("max_attempts", Integer, nullable=False),
        Column("backoff", Float, nullable=False),
        #: Pending (waiting for its next attempt), Running (leased), Success, Error, Stopped
        Column("status", String(16), nullable=False),
        Column("status_message", String(1024), nullable=False, default=""),
        Column("run_count", Integer, nullable=False, default=0),
        Column("next_time", Float, nullable=False),
        Column("lease_owner", String(64), nullable=False, default=""),
        Column("lease_until", Float, nullable=False, default=0.0),
        #: a few lines per attempt
        Column("log", Text, nullable=False, default=""),
        Column("creation_time", Float, nullable=False),
        Column("update_time", Float, nullable=False),
        Column("start_time", Float, nullable=False, default=0.0),
        Column("end_time", Float, nullable=False, default=0.0),
    ]
