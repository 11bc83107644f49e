"""Replication's pure parts and its queue, without a server: Harbor's namespace rewriting,
the filters (doublestar, matches/excludes, cosign accessories travel), policy bodies checked,
the retry schedule, and the queue's claims, leases, releases, stops and restart resume on a
real SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.registry.metadata import Database
from dockyard.registry.replication import (
    ERROR,
    PENDING,
    RUNNING,
    STOPPED,
    SUCCESS,
    NewTask,
    Policy,
    PolicyStore,
    Pushed,
    RegistryStore,
    ReplicationQueue,
    ReplicationSchedule,
    policy_from_json,
    registry_from_json,
    registry_update,
    replace_namespace,
    replication_settings,
    retry_delay,
    tasks_for_push,
)

SIG = "sha256-" + "ab" * 32 + ".sig"


@pytest.mark.parametrize(
    ("repository", "namespace", "count", "expected"),
    [
        # Harbor's stage_test.go cases
        ("a", "", -1, "a"),
        ("a", "n", -1, "n/a"),
        ("a/b/c", "n", -1, "n/c"),
        ("a/b/c", "n", 0, "n/a/b/c"),
        ("a/b/c", "n", 1, "n/b/c"),
        ("a/b/c", "n", 2, "n/c"),
        ("a/b/c", "n/m", 1, "n/m/b/c"),
    ],
)
def test_namespaces_are_rewritten_as_harbor_does(
    repository: str, namespace: str, count: int, expected: str
) -> None:
    assert replace_namespace(repository, namespace, count) == expected


def test_a_replace_count_past_the_path_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="only 2 path components"):
        replace_namespace("a/b/c", "n", 3)


def test_filters_select_repositories_and_tags_and_accessories_travel() -> None:
    policy = policy_from_json({
        "name": "p", "dest_registry": {"id": 1}, "dest_namespace": "mirror",
        "trigger": {"type": "event_based"},
        "filters": [{"type": "name", "value": "team/{app,web}"},
                    {"type": "tag", "value": "rc-*", "decoration": "excludes"},
                    {"type": "resource", "value": "image"}, {"type": "tag", "value": ""}],
    })  # fmt: skip
    assert policy.selects_repository("team/app") and policy.selects_repository("team/web")
    assert not policy.selects_repository("team/db")
    assert policy.selects_tag("v1") and not policy.selects_tag("rc-1")
    assert policy.selects_tag(SIG)  # a subject's signature goes wherever the subject goes
    pushed = Pushed("team/app", "sha256:" + "cd" * 32, ("v1", "rc-2", SIG))
    assert tasks_for_push(policy, pushed) == [
        NewTask("team/app", "v1", "mirror/app", "v1"),
        NewTask("team/app", SIG, "mirror/app", SIG),
    ]
    assert tasks_for_push(policy, Pushed("team/db", "sha256:" + "cd" * 32, ("v1",))) == []
    # a referrer pushed by digest: its subject is copied again, bringing it along
    referrer = Pushed("team/web", "sha256:" + "ef" * 32, (), subject="sha256:" + "cd" * 32)
    assert tasks_for_push(policy, referrer) == [
        NewTask("team/web", "sha256:" + "cd" * 32, "mirror/web", "")
    ]


@pytest.mark.parametrize(
    "wrong",
    [
        {"filters": [{"type": "name", "value": "a/[b"}]},
        {"filters": [{"type": "label", "value": [1]}]},
        {"filters": [{"type": "resource", "value": "chart"}]},
        {"filters": [{"type": "tag", "value": "x", "decoration": "maybe"}]},
        {"trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 * * *"}}},
        {"trigger": {"type": "scheduled"}},
        {"src_registry": {"id": 2}},
        {"dest_registry": None},
        {"speed": "fast"},
        {"name": ""},
        {"dest_namespace_replace_count": -2},
    ],
)
def test_policy_bodies_are_checked(wrong: dict[str, object]) -> None:
    body = {"name": "p", "dest_registry": {"id": 1}, **wrong}
    with pytest.raises(InvalidArgument):
        policy_from_json(body)


def test_a_pull_policy_keeps_replicate_deletion_as_harbor_does() -> None:
    # Harbor stores the flag on a pull policy and never acts on it: only its own deletions
    # are seen, and its event handler replicates them for policies whose source is local
    pull = policy_from_json({"name": "p", "src_registry": {"id": 2}, "dest_registry": None,
                             "replicate_deletion": True})  # fmt: skip
    assert (pull.pull, pull.replicate_deletion) == (True, True)
    older = policy_from_json({"name": "p", "src_registry": {"id": 2}, "deletion": True})
    assert older.replicate_deletion


def test_a_policy_pushes_or_pulls_never_both() -> None:
    pull = policy_from_json({"name": "p", "src_registry": {"id": 3}, "dest_registry": None,
                             "trigger": {"type": "manual"}})  # fmt: skip
    assert (pull.pull, pull.endpoint_id, pull.dest_registry_id) == (True, 3, 0)
    push = policy_from_json({"name": "p", "dest_registry": {"id": 4}, "src_registry": {"id": 0}})
    assert (push.pull, push.endpoint_id) == (False, 4)
    for wrong in (
        {"src_registry": {"id": 3}, "dest_registry": {"id": 4}},
        {"src_registry": {"id": 3}, "trigger": {"type": "event_based"}},
        {},
    ):
        with pytest.raises(InvalidArgument):
            policy_from_json({"name": "p", **wrong})


def test_an_update_keeps_what_it_leaves_out() -> None:
    base = policy_from_json(
        {
            "name": "p",
            "dest_registry": {"id": 1},
            "override": False,
            "filters": [{"type": "name", "value": "a/**"}],
            "speed": 100,
        }
    )
    changed = policy_from_json({"enabled": False}, base=base)  # fmt: skip
    assert (changed.name, changed.override, changed.speed, changed.enabled) == (
        "p",
        False,
        100,
        False,
    )
    assert changed.filters == base.filters


def test_endpoint_bodies_and_blank_secrets() -> None:
    made = registry_from_json(
        {
            "name": "d",
            "type": "docker-registry",
            "url": "http://127.0.0.1:5000/",
            "credential": {"access_key": "u", "access_secret": "s"},
        }
    )
    assert (made.url, made.credential_type, made.host) == ("http://127.0.0.1:5000", "basic",
                                                           "127.0.0.1:5000")  # fmt: skip
    assert registry_update(made, {"access_secret": ""}).access_secret == "s"
    assert registry_update(made, {"access_key": ""}).access_secret == ""
    for url in ("ftp://x", "http://u:p@host", "http://host/path", "host:5000"):
        with pytest.raises(InvalidArgument):
            registry_from_json({"name": "d", "url": url})
    with pytest.raises(InvalidArgument):
        registry_from_json({"name": "d", "type": "aws-ecr", "url": "http://h"})


def test_the_retry_schedule_doubles_with_jitter_up_to_its_ceiling() -> None:
    assert [retry_delay(2.0, n, 1.0) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]
    assert retry_delay(2.0, 1, 0.0) == 1.0
    assert retry_delay(2.0, 40, 1.0, max_wait=30.0) == 30.0
    assert retry_delay(2.0, 10_000, 1.0) == 600.0
    settings = replication_settings({"backoff": "100ms", "maxwait": "2s", "attempts": 3})
    assert (settings.backoff, settings.max_wait, settings.attempts) == (0.1, 2.0, 3)
    with pytest.raises(InvalidArgument):
        replication_settings({"attempts": 0})


@pytest.fixture
def queue(tmp_path: Path) -> ReplicationQueue:
    return ReplicationQueue(Database(tmp_path / "r.db"), lease=60.0, attempts=3, backoff=1.0)


def test_a_claim_leases_a_task_once_and_a_lost_lease_frees_it(queue: ReplicationQueue) -> None:
    execution = queue.start(1, "manual", [NewTask("a/b", "v1", "a/b", "v1")], now=100.0)
    other = ReplicationQueue(queue.db, lease=60.0)  # another registry process
    (job,) = queue.claim(100.0)
    assert other.claim(100.0) == []  # leased
    assert queue.counts() == {RUNNING: 1}
    (taken,) = other.claim(161.0)  # the first process died: its lease ran out
    queue.finish(job, ok=True, message="late", log="x\n", now=162.0, retry_at=None)
    assert queue.counts() == {RUNNING: 1}  # the late outcome of a lost lease is not recorded
    other.finish(taken, ok=False, message="down", log="attempt\n", now=162.0, retry_at=170.0)
    assert queue.counts() == {PENDING: 1}
    assert queue.claim(165.0) == []  # not due before its next attempt
    assert queue.resume(165.0) == 1  # a registry starting makes it due now
    (again,) = queue.claim(165.0)
    assert again.run_count == 1
    queue.finish(again, ok=False, message="down", log="", now=166.0, retry_at=None)
    info = queue.execution(execution)
    assert (info.status, info.counts) == (ERROR, {ERROR: 1})
    (task,) = queue.tasks(execution)[0]
    assert (task.run_count, task.status_message, task.log) == (2, "down", "attempt\n")


def test_released_tasks_are_due_at_once_and_stopped_ones_never(queue: ReplicationQueue) -> None:
    items = [NewTask("a/b", f"v{n}", "a/b", f"v{n}") for n in range(3)]
    execution = queue.start(1, "manual", items, now=10.0)
    jobs = queue.claim(10.0, limit=2)
    queue.release(jobs[:1], now=11.0)
    assert queue.counts() == {PENDING: 2, RUNNING: 1}
    queue.stop(execution, now=12.0)
    assert queue.counts() == {STOPPED: 3}
    assert queue.claim(100.0) == []
    queue.finish(jobs[1], ok=True, message="", log="", now=13.0, retry_at=None)
    assert queue.execution(execution).status == STOPPED
    done = queue.start(2, "event_based", [], now=20.0)  # nothing selected: done at once
    assert queue.execution(done).status == SUCCESS
    listed, total = queue.executions(policy_id=1)
    assert (total, [e.id for e in listed]) == (1, [execution])


def test_a_scheduled_policy_fires_once_across_processes(tmp_path: Path) -> None:
    db = Database(tmp_path / "s.db")
    endpoint = RegistryStore(db).create(
        registry_from_json({"name": "d", "url": "http://127.0.0.1:5000"})
    )
    store = PolicyStore(db)
    hourly = policy_from_json(
        {
            "name": "hourly",
            "dest_registry": {"id": endpoint.id},
            "trigger": {"type": "scheduled", "trigger_settings": {"cron": "0 0 * * * *"}},
        }
    )
    policy = store.create(hourly)  # fmt: skip
    assert store.get(policy.id).cron == "0 0 * * * *"
    started: list[tuple[str, str]] = []
    clock = [7200.0 + 10]  # 02:00:10 on the first day

    def start(policy: Policy, trigger: str) -> int:
        started.append((policy.name, trigger))
        return len(started)

    replicas = [ReplicationSchedule(start, PolicyStore(db), clock=lambda: clock[0])
                for _ in range(2)]  # fmt: skip
    for replica in replicas:
        assert replica.run_due(7200.0 + 3000) == []  # 02:50: nothing fired since 02:00:10
    for replica in replicas:
        replica.run_due(10800.0 + 5)  # 03:00:05: one firing, started by one replica only
    assert started == [("hourly", "scheduled")]
    store.update(policy_from_json({"enabled": False}, base=store.get(policy.id)))
    for replica in replicas:
        replica.run_due(14400.0 + 5)
    assert started == [("hourly", "scheduled")]  # a disabled policy does not fire
