"""The retention service: policies bound to projects (the project's ``retention_id``
metadata, as Harbor links them), manual and scheduled executions run in background threads,
and their history."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.registry._quota_hook import QuotaGuard
from dockyard.registry._registry import Registry
from dockyard.registry._run_locks import HeldRun, RunLocks
from dockyard.registry.access import AccessService
from dockyard.registry.events import NO_EVENTS, EventSink
from dockyard.registry.retention._model import Policy, parse_policy
from dockyard.registry.retention._runner import Runner
from dockyard.registry.retention._store import Execution, ExecutionStore, PolicyStore

__all__ = ["MANUAL", "SCHEDULE", "RetentionService"]

log = logging.getLogger("dockyard.registry.retention")

MANUAL = "MANUAL"
SCHEDULE = "SCHEDULE"
#: Ended executions kept per policy (older ones are deleted with their tasks and logs).
HISTORY = 50
_META = "retention_id"


class RetentionService:
    """Everything retention does, over one registry and its access model."""

    def __init__(
        self,
        registry: Registry,
        access: AccessService,
        *,
        events: EventSink = NO_EVENTS,
        clock: Callable[[], float] = time.time,
        history: int = HISTORY,
    ) -> None:
        self.registry = registry
        self.history = history
        self.access = access
        db = registry.meta.db
        self.policies = PolicyStore(db, clock=clock)
        self.executions = ExecutionStore(db, clock=clock)
        self.runner = Runner(
            registry,
            self.executions,
            project_name=self._project_name,
            after_delete=self._give_back,
            events=events,
            clock=clock,
        )
        self.clock = clock
        self.locks = RunLocks(db, "retention")
        self._lock = threading.Lock()
        self._threads: dict[int, threading.Thread] = {}
        self.close_abandoned()

    def close_abandoned(self) -> list[int]:
        """Mark Error the executions left Running by a process that died (at start-up, and
        before scheduled runs), so that they do not stay Running for ever; their ids."""
        closed = []
        now = self.clock()
        for execution in self.executions.running():
            if not self.locks.abandoned(execution.id):
                continue
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
            message = (
                f"{stamp} the registry process running execution {execution.id} stopped "
                "before it ended (it was killed or crashed); marked Error"
            )
            if self.executions.abandon(execution.id, message):
                log.warning("retention: execution %d was abandoned by a process that stopped; "
                            "marked Error", execution.id)  # fmt: skip
                closed.append(execution.id)
        return closed

    def _project_name(self, project_id: int) -> str:
        return self.access.projects.get(project_id).name

    def _give_back(self, repository: str) -> None:
        QuotaGuard(self.access, self.registry.meta.db).deleted(repository)

    # --- policies --------------------------------------------------------------------------

    def create(self, body: Mapping[str, Any]) -> int:
        """A new policy for the project ``body.scope.ref`` names, linked to it."""
        policy = parse_policy(body)
        project = self.access.projects.find(policy.project_id)
        if project is None:
            raise InvalidArgument(f"invalid Project id {policy.project_id}")
        if project.metadata.get(_META):
            raise InvalidArgument(
                f"project {project.id} already has retention policy {project.metadata[_META]}",
                hint=f"update it: PUT /api/v2.0/retentions/{project.metadata[_META]}",
            )
        pid = self.policies.create(policy)
        self.access.projects.update_metadata(project.id, {_META: str(pid)})
        return pid

    def get(self, policy_id: int) -> Policy:
        return self.policies.get(policy_id)

    def of_project(self, project: str | int) -> Policy | None:
        found = self.access.projects.find(project)
        return None if found is None else self.policies.of_project(found.id)

    def update(self, policy_id: int, body: Mapping[str, Any]) -> Policy:
        old = self.policies.get(policy_id)
        policy = replace(parse_policy(body), id=policy_id)
        if policy.project_id != old.project_id:
            raise InvalidArgument("a retention policy stays with its project",
                                  hint=f'"scope": {{"level": "project", "ref": '
                                  f"{old.project_id}}}")  # fmt: skip
        self.policies.update(policy)
        return policy

    def delete(self, policy_id: int) -> None:
        policy = self.policies.get(policy_id)
        self.policies.delete(policy_id)
        if self.access.projects.find(policy.project_id) is not None:
            self.access.projects.delete_metadata(policy.project_id, [_META])

    # --- executions ------------------------------------------------------------------------

    def run(self, policy_id: int, *, dry_run: bool, trigger: str = MANUAL) -> int:
        """Run the policy now, in this thread; the execution's id."""
        policy = self.policies.get(policy_id)
        eid, held = self._start(policy_id, trigger, dry_run)
        try:
            self.runner.run(policy, eid, dry_run=dry_run, trigger=trigger)
        finally:
            held.release()
        self.executions.sweep(policy_id, self.history)
        return eid

    def trigger(self, policy_id: int, *, dry_run: bool, trigger: str = MANUAL) -> int:
        """Start an execution in a background thread; its id (Running until it ends)."""
        policy = self.policies.get(policy_id)
        eid, held = self._start(policy_id, trigger, dry_run)
        thread = threading.Thread(
            target=self._background, args=(policy, eid, dry_run, trigger, held),
            name=f"retention-{eid}", daemon=True,
        )  # fmt: skip
        with self._lock:
            self._threads[eid] = thread
        thread.start()
        return eid

    def _start(self, policy_id: int, trigger: str, dry_run: bool) -> tuple[int, HeldRun]:
        """A new execution, its lock held from before its row can be seen."""
        held: list[HeldRun] = []
        try:
            eid = self.executions.start(
                policy_id, trigger, dry_run, before_commit=lambda i: held.append(self.locks.hold(i))
            )
        except BaseException:
            for h in held:
                h.release()
            raise
        return eid, held[0]

    def _background(
        self, policy: Policy, eid: int, dry_run: bool, trigger: str, held: HeldRun
    ) -> None:
        try:
            self.runner.run(policy, eid, dry_run=dry_run, trigger=trigger)
            held.release()
            self.executions.sweep(policy.id, self.history)
        finally:
            held.release()
            with self._lock:
                self._threads.pop(eid, None)

    def wait(self, execution_id: int, timeout: float = 60.0) -> Execution:
        """The execution once it has ended (or after ``timeout`` seconds)."""
        with self._lock:
            thread = self._threads.get(execution_id)
        if thread is not None:
            thread.join(timeout)
        return self.executions.get(execution_id)

    def stop(self, policy_id: int, execution_id: int) -> None:
        self.execution(policy_id, execution_id)
        if not self.executions.request_stop(execution_id):
            raise FailedPrecondition(f"retention execution {execution_id} is not running")

    def execution(self, policy_id: int, execution_id: int) -> Execution:
        found = self.executions.get(execution_id)
        if found.policy_id != policy_id:
            raise NotFound(f"retention execution {execution_id} not found in policy {policy_id}")
        return found

    def close(self, timeout: float = 10.0) -> None:
        """Ask running executions to stop, and wait for them."""
        with self._lock:
            running = dict(self._threads)
        for eid, thread in running.items():
            self.executions.request_stop(eid)
            thread.join(timeout)
