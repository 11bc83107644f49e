"""One retention execution: for every repository a rule takes, one task that decides (pure
:func:`evaluate`), then deletes through the registry what no rule retains — each delete
first offered to the registry's guard chain (``check_delete``: a tag-immutability rule
refuses it, and the artifact is marked IMMUTABLE and stays). A dry run decides and records
the same, deleting nothing. Accessories are deleted before their subjects."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dockyard.errors import Denied, DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.events import DELETE_ARTIFACT, NO_EVENTS, TAG_RETENTION, Event, EventSink
from dockyard.registry.replication import local_facts
from dockyard.registry.retention._evaluate import Decision, evaluate, repositories_in_scope
from dockyard.registry.retention._facts import project_artifacts, project_repositories
from dockyard.registry.retention._model import Policy
from dockyard.registry.retention._store import ExecutionStore, Result

__all__ = ["DELETED", "ERROR", "IMMUTABLE", "RETAINED", "Runner"]

log = logging.getLogger("dockyard.registry.retention")

RETAINED = "RETAIN"
DELETED = "DEL"
IMMUTABLE = "IMMUTABLE"
ERROR = "ERR"

SUCCESS = "Success"
FAILED = "Error"
STOPPED = "Stopped"


def retention_summary(
    project: str,
    policy_id: int,
    execution_id: int,
    status: str,
    dry_run: bool,
    total: int,
    retained: int,
    deleted: list[dict[str, object]],
) -> dict[str, object]:
    """The ``retention`` object of Harbor's TAG_RETENTION event payload (``deleted_artifact``:
    ``name_tag`` as ``repo:tag`` or ``repo@digest``), with dockyard's execution id, dry-run
    flag and status beside it."""
    artifacts = []
    for d in deleted:
        tags = [str(t) for t in d.get("tags") or ()]  # type: ignore[attr-defined]
        name = str(d["repository"])
        artifacts.append({
            "type": "image",
            "name_tag": f"{name}:{','.join(tags)}" if tags else f"{name}@{d['digest']}",
            "status": "SUCCESS",
        })  # fmt: skip
    return {
        "total": total,
        "retained": retained,
        "HREF": f"/api/v2.0/retentions/{policy_id}/executions/{execution_id}",
        "project_name": project,
        "retention_policy_id": policy_id,
        "result": status.upper(),
        "deleted_artifact": artifacts,
        "execution_id": execution_id,
        "dry_run": dry_run,
        "status": status,
    }


@dataclass
class _Outcome:
    total: int = 0
    retained: int = 0
    deleted: list[dict[str, object]] = field(default_factory=list)
    failed: int = 0


def _when(t: float) -> str:
    return "" if t <= 0 else datetime.fromtimestamp(t, UTC).strftime("%Y/%m/%d %H:%M:%S")


def _any_deleted(actions: dict[str, Result]) -> bool:
    return any(r.action == DELETED for r in actions.values())


def _depths(decisions: list[Decision]) -> dict[str, int]:
    """How many accessories deep each artifact is (0: it accompanies nothing)."""
    up = {d.candidate.digest: d.subject for d in decisions}
    out: dict[str, int] = {}
    for digest in up:
        n, at, seen = 0, up[digest], {digest}
        while at is not None and at not in seen:
            seen.add(at)
            n += 1
            at = up.get(at)
        out[digest] = n
    return out


def task_log(decisions: list[Decision], actions: dict[str, Result]) -> str:
    """Harbor's task log: one row per artifact and what happened to it."""
    header = ("Digest", "Tag", "Kind", "Labels", "PushedTime", "PulledTime", "Retention")
    rows = [header] + [
        (
            d.candidate.digest,
            ",".join(d.candidate.tags),
            "image",
            ",".join(d.candidate.labels),
            _when(d.candidate.pushed),
            _when(d.candidate.pulled),
            actions[d.candidate.digest].action,
        )
        for d in decisions
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in rows]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    errors = [f"Retention error for artifact {digest}: {r.error}"
              for digest, r in actions.items() if r.error]  # fmt: skip
    return "\n".join(lines + errors) + "\n"


class Runner:
    """Runs executions of policies against one registry."""

    def __init__(
        self,
        registry: Registry,
        store: ExecutionStore,
        *,
        project_name: Callable[[int], str],
        after_delete: Callable[[str], None] | None = None,
        events: EventSink = NO_EVENTS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.store = store
        self.project_name = project_name
        self.after_delete = after_delete
        self.events = events
        self.clock = clock

    def run(self, policy: Policy, execution_id: int, *, dry_run: bool, trigger: str) -> str:
        """Carry out execution ``execution_id`` (already recorded as Running); its final
        status."""
        project = self.project_name(policy.project_id)
        outcome = _Outcome()
        status = SUCCESS
        try:
            names = repositories_in_scope(policy, project_repositories(self.registry.meta.db,
                                                                       project))  # fmt: skip
            for name in names:
                if self.store.stop_requested(execution_id):
                    status = STOPPED
                    break
                self._task(policy, project, name, execution_id, dry_run, outcome)
        except Exception:
            log.exception("retention execution %d of policy %d failed", execution_id, policy.id)
            status = FAILED
        if status == SUCCESS and outcome.failed:
            status = FAILED
        self.store.finish(execution_id, status)
        self.events.publish(
            Event(
                TAG_RETENTION,
                project,
                operator=trigger,
                details={"retention": retention_summary(
                    project, policy.id, execution_id, status, dry_run, outcome.total,
                    outcome.retained, outcome.deleted,
                )},
            )
        )  # fmt: skip
        return status

    def _labels(self, repository: str, digest: str) -> tuple[str, ...]:
        """An artifact's labels as the replication filters read them: its image config's
        ``Labels`` and its manifest's annotations, each as ``key`` and ``key=value``, and the
        names of the Harbor labels attached to it through the API."""
        try:
            content = self.registry.manifest(repository, digest).content
        except DockyardError:
            return ()
        return tuple(sorted(local_facts(self.registry, repository, content, digest).labels))

    def _task(
        self,
        policy: Policy,
        project: str,
        name: str,
        execution_id: int,
        dry_run: bool,
        outcome: _Outcome,
    ) -> None:
        full = f"{project}/{name}"
        task_id = self.store.add_task(execution_id, full)
        candidates = project_artifacts(self.registry.meta.db, project, name)
        if policy.reads_labels:
            candidates = [replace(c, labels=self._labels(full, c.digest)) for c in candidates]
        decisions = evaluate(policy, name, candidates, self.clock())
        actions: dict[str, Result] = {}
        for d in decisions:
            if d.retain:
                actions[d.candidate.digest] = Result(d.candidate.digest, d.candidate.tags,
                                                     RETAINED)  # fmt: skip
        # a refused subject keeps its accessories: decide subjects first, delete accessories first
        depth = _depths(decisions)
        doomed = [d for d in decisions if not d.retain]
        refused: set[str] = set()
        for d in sorted(doomed, key=lambda d: depth[d.candidate.digest]):
            if d.subject is not None and d.subject in refused:
                refused.add(d.candidate.digest)
                actions[d.candidate.digest] = Result(d.candidate.digest, d.candidate.tags,
                                                     IMMUTABLE, "its subject is immutable")  # fmt: skip
                continue
            why = self._refusal(full, d)
            if why is not None:
                refused.add(d.candidate.digest)
                actions[d.candidate.digest] = Result(d.candidate.digest, d.candidate.tags,
                                                     IMMUTABLE, why)  # fmt: skip
        deleting = [d for d in doomed if d.candidate.digest not in refused]
        deleting.sort(key=lambda d: -depth[d.candidate.digest])  # accessories before subjects
        for d in deleting:
            c = d.candidate
            error = "" if dry_run else self._delete(full, c.digest)
            actions[c.digest] = Result(c.digest, c.tags, ERROR if error else DELETED, error)
            if error:
                outcome.failed += 1
                continue
            outcome.deleted.append({"repository": full, "digest": c.digest, "tags": list(c.tags)})
            if not dry_run:
                self.events.publish(Event(DELETE_ARTIFACT, project, full, operator="retention",
                                          digest=c.digest, tag=",".join(c.tags)))  # fmt: skip
        if _any_deleted(actions) and not dry_run:
            self._deleted(full)
        kept = sum(1 for r in actions.values() if r.action in (RETAINED, IMMUTABLE))
        outcome.total += len(decisions)
        outcome.retained += kept
        ordered = [actions[d.candidate.digest] for d in decisions]
        self.store.finish_task(
            task_id,
            FAILED if any(r.action == ERROR for r in ordered) else SUCCESS,
            ordered,
            retained=kept,
            log=task_log(decisions, actions),
        )

    def _refusal(self, repository: str, d: Decision) -> str | None:
        """Why the guard chain refuses deleting ``d`` (by its digest or any of its tags)."""
        guard = self.registry.guard
        if guard is None:
            return None
        for reference in (d.candidate.digest, *d.candidate.tags):
            try:
                guard.check_delete(repository, reference)
            except Denied as exc:
                return str(exc)
        return None

    def _delete(self, repository: str, digest: str) -> str:
        try:
            self.registry.delete_manifest(repository, digest)
        except DockyardError as exc:
            return str(exc)
        return ""

    def _deleted(self, repository: str) -> None:
        """After a task's deletes: the guard chain hears of them once (its quota guard gives
        back what no manifest holds any more); without a chain, ``after_delete`` does."""
        guard = self.registry.guard
        try:
            if guard is not None:
                guard.deleted(repository)
            elif self.after_delete is not None:
                self.after_delete(repository)
        except Exception:
            log.exception("retention: giving back quota after deletes in %s failed", repository)
