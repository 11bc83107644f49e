"""The runner of one claimed task: a push copy, a pull copy or a deletion at the destination,
chosen by the task's operation and its policy's direction."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Protocol

from dockyard.client import Transport
from dockyard.registry._registry import Registry
from dockyard.registry.replication._copy import ArtifactCopy, CopyStats
from dockyard.registry.replication._delete import DELETE, DestinationDelete
from dockyard.registry.replication._policies import Policy
from dockyard.registry.replication._pull import PullCopy
from dockyard.registry.replication._queue import Job, NewTask
from dockyard.registry.replication._select import selects_local

__all__ = ["TaskRunner", "task_runner"]


class TaskRunner(Protocol):
    """Runs one task; ``stats`` holds what it did (and its log lines) even when it raised."""

    stats: CopyStats

    def run(self, task: NewTask) -> CopyStats: ...


def task_runner(
    registry: Registry,
    policy: Policy,
    job: Job,
    transport: Transport,
    url: str,
    check: Callable[[], None],
    mounts: MutableMapping[str, str],
    prepare: Callable[[NewTask], str | None] | None = None,
    *,
    harbor_labels: bool = False,
) -> TaskRunner:
    """The runner of ``job`` under ``policy`` (its endpoint's client is ``transport``);
    ``prepare`` readies the destination of a push copy (:mod:`._prepare`); ``harbor_labels``:
    a pull's source answers Harbor's artifacts API, whose attached labels its label filters
    read too."""
    if job.task.operation == DELETE:
        return DestinationDelete(registry, transport, url, first_attempt=job.run_count == 0,
                                 check=check)  # fmt: skip
    if policy.pull:
        return PullCopy(registry, transport, url, override=policy.override, speed=policy.speed,
                        check=check, harbor_labels=harbor_labels,
                        select=policy.selects_facts if policy.reads_content else None)  # fmt: skip

    def select(repository: str, content: bytes) -> bool:
        return selects_local(registry, policy, repository, content)

    return ArtifactCopy(
        registry, transport, url, override=policy.override, speed=policy.speed, check=check,
        mounts=mounts, select=select if policy.reads_content else None, prepare=prepare,
    )  # fmt: skip
