"""Background work on three registry replicas sharing one PostgreSQL database, S3 bucket and
Redis: a due garbage-collection schedule and a due retention schedule start one run across
the three; a webhook event is delivered once per target; ``kill -9`` of the replica
delivering a webhook or holding a GC or retention run hands the work to another replica
within seconds (the delivery completes, the abandoned runs are closed as Error); and
garbage collection on one replica while the two others push loses nothing."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from _infra import dockyard_executable, run_command
from _infra.cluster import Backends, Cluster, start_cluster
from _infra.cluster_jobs import (
    HeldFirstReceiver,
    cron_at,
    process_with_connection,
    wait_until,
    write_lock,
)
from _infra.projects_registry import ADMIN_PASSWORD
from _infra.registry_server import (
    OCI_MANIFEST,
    error_code,
    make_manifest,
    push_blob,
    push_image,
    sha256,
)
from _infra.webhook_sink import WebhookReceiver
from dockyard.registry.gcjobs._scheduler import TICK as GC_TICK
from dockyard.registry.gcjobs._schema import gc_runs
from dockyard.registry.metadata import Database
from dockyard.registry.metadata._schema import blobs, manifests, repo_blobs
from dockyard.registry.retention._schedule import TICK as RETENTION_TICK
from dockyard.registry.retention._schema import executions as retention_executions
from dockyard.registry.retention._schema import tasks as retention_tasks
from dockyard.registry.webhooks._schema import tasks as webhook_tasks

pytestmark = pytest.mark.slow

ADMIN = ("admin", ADMIN_PASSWORD)
PROJECTS = {"auth": {"projects": {"passwordcost": 4}}}
#: a look by every replica's schedulers, and a little more
LOOK = max(GC_TICK, RETENTION_TICK) + 1.5


@pytest.fixture(scope="module")
def cluster(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with start_cluster(
        backends,
        tmp_path_factory.mktemp("jobs"),
        balancer=False,
        config=PROJECTS,
        env={"DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD},
    ) as started:
        r = httpx.post(
            f"{_api(started, 'registry-1')}/projects",
            json={"project_name": "team", "metadata": {"public": "false"}},
            auth=ADMIN,
        )
        assert r.status_code == 201, r.text
        yield started


@pytest.fixture(scope="module")
def db(cluster: Cluster) -> Iterator[Database]:
    opened = cluster.db()
    yield opened
    opened.close()


def _api(cluster: Cluster, name: str) -> str:
    return f"{cluster.replicas[name].url}/api/v2.0"


def _live(cluster: Cluster) -> str:
    """A replica that runs (an earlier step may have killed some)."""
    return next(n for n, r in cluster.replicas.items() if r.process.poll() is None)


def _client(cluster: Cluster, name: str) -> httpx.Client:
    return httpx.Client(base_url=cluster.replicas[name].url, auth=ADMIN, timeout=60)


def _project_id(cluster: Cluster, name: str = "team") -> int:
    """Project ``name``'s id (made when missing)."""
    api = _api(cluster, "registry-1")
    if httpx.head(f"{api}/projects?project_name={name}", auth=ADMIN).status_code == 404:
        r = httpx.post(f"{api}/projects", json={"project_name": name}, auth=ADMIN)
        assert r.status_code == 201, r.text
    r = httpx.get(f"{api}/projects/{name}", auth=ADMIN)
    assert r.status_code == 200, r.text
    return int(r.json()["project_id"])


def _rows(db: Database, table: Any) -> list[Any]:
    with db.read() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def _ended(db: Database, table: Any, run_id: int, timeout: float) -> Any:
    """Run ``run_id`` of ``table`` once it is neither Pending nor Running."""

    def found() -> list[Any]:
        return [r for r in _rows(db, table)
                if r.id == run_id and r.status not in ("Pending", "Running")]  # fmt: skip

    return wait_until(found, timeout)[0]


def _retention_policy(project_id: int, cron: str, repository: str) -> dict[str, Any]:
    """Keep the newest tag of ``repository``: the others are deleted."""
    selector = {"kind": "doublestar", "decoration": "matches", "pattern": "**"}
    scope = {"kind": "doublestar", "decoration": "repoMatches", "pattern": repository}
    rule = {"template": "latestPushedK", "params": {"latestPushedK": 1}, "action": "retain",
            "tag_selectors": [selector], "scope_selectors": {"repository": [scope]}}  # fmt: skip
    return {"algorithm": "or", "rules": [rule],
            "trigger": {"kind": "Schedule", "settings": {"cron": cron}},
            "scope": {"level": "project", "ref": project_id}}  # fmt: skip


def _webhook_policy(cluster: Cluster, name: str, *addresses: str) -> str:
    body = {
        "name": name,
        "enabled": True,
        "event_types": ["PUSH_ARTIFACT"],
        "targets": [{"type": "http", "address": a, "skip_cert_verify": True} for a in addresses],
    }
    r = httpx.post(f"{_api(cluster, _live(cluster))}/projects/team/webhook/policies",
                   json=body, auth=ADMIN)  # fmt: skip
    assert r.status_code == 201, r.text
    return str(r.headers["location"])


def _drop_webhook_policy(cluster: Cluster, location: str) -> None:
    r = httpx.delete(f"{cluster.replicas[_live(cluster)].url}{location}", auth=ADMIN)
    assert r.status_code == 200, r.text


def _scheduled_starts(cluster: Cluster) -> int:
    """How many scheduled GC starts the replicas' logs tell of."""
    return sum(
        replica.log.read_text(errors="replace").count("started by its schedule")
        for replica in cluster.replicas.values()
    )


def test_a_due_gc_and_a_due_retention_schedule_run_once_across_the_replicas(
    cluster: Cluster, db: Database
) -> None:
    with _client(cluster, "registry-2") as client:
        for n in range(3):
            push_image(client, "team/scheduled", f"v{n}", seed=f"scheduled-{n}")
    cron = cron_at(time.time() + 3)  # every replica's schedulers look within TICK of it
    r = httpx.post(f"{_api(cluster, 'registry-1')}/retentions",
                   json=_retention_policy(_project_id(cluster), cron, "scheduled"),
                   auth=ADMIN)  # fmt: skip
    assert r.status_code == 201, r.text
    gc = {"schedule": {"type": "Custom", "cron": cron},
          "parameters": {"delete_untagged": True, "time_window": 0}}  # fmt: skip
    r = httpx.post(f"{_api(cluster, 'registry-3')}/system/gc/schedule", json=gc, auth=ADMIN)
    assert r.status_code == 201, r.text

    def ended() -> bool:
        runs, execs = _rows(db, gc_runs), _rows(db, retention_executions)
        return bool(runs and execs) and all(
            row.status not in ("Pending", "Running") for row in (*runs, *execs)
        )

    wait_until(ended, 30, lambda: f"{_rows(db, gc_runs)} {_rows(db, retention_executions)}")
    time.sleep(LOOK)  # every replica has looked at the schedules past the firing again
    (run,) = _rows(db, gc_runs)
    assert (run.trigger, run.status) == ("SCHEDULE", "Success"), run.log
    (execution,) = _rows(db, retention_executions)
    assert (execution.trigger, execution.status) == ("SCHEDULE", "Success")
    assert _scheduled_starts(cluster) == 1, cluster.logs()
    with _client(cluster, "registry-1") as client:
        assert client.get("/v2/team/scheduled/tags/list").json()["tags"] == ["v2"]
    r = httpx.post(f"{_api(cluster, 'registry-3')}/system/gc/schedule",
                   json={"schedule": {"type": "None"}}, auth=ADMIN)  # fmt: skip
    assert r.status_code == 201, r.text


def test_a_webhook_event_is_delivered_once_per_target(cluster: Cluster) -> None:
    with WebhookReceiver() as first, WebhookReceiver() as second:
        policy = _webhook_policy(cluster, "once", f"{first.url}/a", f"{second.url}/b")
        try:
            with _client(cluster, "registry-3") as client:
                image = push_image(client, "team/hooked", "v1", seed="hooked")
            for receiver in (first, second):
                (got,) = receiver.wait_for(1)
                resources = got.json()["event_data"]["resources"]
                assert [r["digest"] for r in resources] == [image.digest]
            time.sleep(2.5)  # every replica polls the queue each second: none sends it again
            assert (len(first.received), len(second.received)) == (1, 1)
        finally:
            _drop_webhook_policy(cluster, policy)


# --- GC while pushes run on the other replicas -----------------------------------------------


def _push_retrying(client: httpx.Client, name: str, tag: str, blobs: list[bytes]) -> int:
    """Push as docker does: each blob unless a HEAD finds it there, then the manifest; from
    the start again while the manifest PUT says a blob is unknown (a collection took it
    before the manifest held it: what a client's retry does). The attempts it took."""
    config, *layers = blobs
    body = make_manifest(config, layers)
    for attempt in range(1, 6):
        for blob in blobs:
            if client.head(f"/v2/{name}/blobs/{sha256(blob)}").status_code != 200:
                push_blob(client, name, blob)
        r = client.put(f"/v2/{name}/manifests/{tag}", content=body,
                       headers={"content-type": OCI_MANIFEST})  # fmt: skip
        if r.status_code == 201:
            return attempt
        assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN", r.text
    raise AssertionError(f"{name}:{tag} could not be pushed in 5 attempts")


def _verify(client: httpx.Client, name: str, tag: str, blobs: list[bytes]) -> None:
    r = client.get(f"/v2/{name}/manifests/{tag}", headers={"accept": OCI_MANIFEST})
    assert r.status_code == 200, f"{name}:{tag}: {r.text}"
    manifest = json.loads(r.content)
    for d, blob in zip([manifest["config"], *manifest["layers"]], blobs, strict=True):
        got = client.get(f"/v2/{name}/blobs/{d['digest']}", follow_redirects=True)
        assert got.status_code == 200, f"{name}:{tag} lost {d['digest']}"
        assert sha256(got.content) == d["digest"] == sha256(blob)


def _backdate(db: Database) -> None:
    """Everything recorded so far looks a day old (past any collection's time window)."""
    with db.write() as conn:
        for table in (blobs, repo_blobs, manifests):
            conn.execute(update(table).values(created_at=time.time() - 86400))


def test_gc_on_one_replica_while_two_others_push_loses_nothing(
    cluster: Cluster, db: Database
) -> None:
    shared = [os.urandom(3000) for _ in range(4)]
    apps = [f"team/app{i}" for i in range(3)]
    # garbage in the repositories the pushes go to, sharing their layers: images deleted, a
    # tag moved (its old manifest untagged), all of it older than the time window
    with _client(cluster, "registry-1") as client:
        for i, name in enumerate(apps):
            for n in range(2):
                config = json.dumps({"os": "linux", "garbage": [i, n]}).encode()
                _push_retrying(client, name, "old", [config, shared[(i + n) % 4]])
            r = client.get(f"/v2/{name}/manifests/old", headers={"accept": OCI_MANIFEST})
            assert client.delete(f"/v2/{name}/manifests/{sha256(r.content)}").status_code == 202
    _backdate(db)
    images = {
        (name, f"v{j}"): [
            json.dumps({"os": "linux", "app": name, "version": j}).encode(),
            shared[(i + j) % 4],
            os.urandom(2000),
        ]
        for i, name in enumerate(apps)
        for j in range(4)
    }
    done = threading.Event()
    failures: list[BaseException] = []
    attempts: list[int] = []
    collected: list[int] = []

    def push(replica: str, mine: list[tuple[str, str]]) -> None:
        try:
            with _client(cluster, replica) as client:
                for name, tag in mine:
                    attempts.append(_push_retrying(client, name, tag, images[(name, tag)]))
        except BaseException as exc:
            failures.append(exc)

    def collect() -> None:
        api = _api(cluster, "registry-3")
        # a window of a minute: what the pushes under way upload stays, the garbage goes
        parameters = {"delete_untagged": True, "time_window": 1 / 60, "workers": 2}
        body = {"schedule": {"type": "Manual"}, "parameters": parameters}
        try:
            while not done.is_set() or not collected:
                r = httpx.post(f"{api}/system/gc/schedule", json=body, auth=ADMIN)
                assert r.status_code == 201, r.text
                run = _ended(db, gc_runs, int(r.headers["location"].rsplit("/", 1)[1]), 60)
                assert run.status == "Success", run.log
                collected.append(run.id)
        except BaseException as exc:
            failures.append(exc)

    keys = sorted(images)
    threads = [
        threading.Thread(target=collect),
        threading.Thread(target=push, args=("registry-1", keys[0::2])),
        threading.Thread(target=push, args=("registry-2", keys[1::2])),
    ]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join(300)
    done.set()
    threads[0].join(120)
    assert not failures, failures
    assert len(attempts) == len(images)
    reports = [json.loads(r.report) for r in _rows(db, gc_runs) if r.id in collected]
    # the garbage went: the untagged manifests and the blobs only they held
    assert sum(r["manifests"] for r in reports) >= len(apps)
    assert sum(r["blobs"] for r in reports) >= 2 * len(apps)
    with _client(cluster, "registry-3") as client:
        for (name, tag), content in images.items():
            _verify(client, name, tag, content)
    replica = cluster.replicas["registry-1"]
    result = run_command(
        [dockyard_executable(), "registry", "fsck", "-c", str(cluster.config),
         "--root", str(replica.root), "--format", "json"],
        env={**os.environ, **cluster.env}, check=False, timeout=300,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["missing"] == [] and report["corrupt"] == [], report
    assert result.returncode == 0, result.stderr


# --- kill -9 of a replica doing background work ------------------------------------------


def test_a_delivery_whose_replica_is_killed_mid_delivery_is_completed_by_another(
    cluster: Cluster, db: Database
) -> None:
    victims: list[str] = []  # started again by the next test
    with HeldFirstReceiver() as target:
        policy = _webhook_policy(cluster, "takeover", target.url)
        try:
            with _client(cluster, "registry-1") as client:
                image = push_image(client, "team/taken-over", "v1", seed="taken-over")
            port = wait_until(lambda: target.first_port, 20)
            pids = {r.process.pid: name for name, r in cluster.replicas.items()}
            victims.append(pids[wait_until(lambda: process_with_connection(port, pids), 5)])
            cluster.kill(victims[0])
            # the lease runs for two minutes; the other replicas see at once that its
            # holder is gone and deliver it
            (hook,) = wait_until(lambda: list(target.answered), 60, cluster.logs)
            assert image.digest in hook.body.decode()

            def settled() -> Any:
                """The task once its deliverer recorded the answer (it is recorded just after
                the receiver saw the request)."""
                with db.read() as conn:
                    (row,) = conn.execute(
                        select(webhook_tasks).where(webhook_tasks.c.address == target.url)
                    ).all()
                return row if row.status != "Running" else None

            task = wait_until(settled, 30, cluster.logs)
            assert (task.status, task.run_count) == ("Success", 1), task.log
            time.sleep(2)  # and it is not delivered again
            assert len(target.answered) == 1
        finally:
            _drop_webhook_policy(cluster, policy)


def _kill_holding(
    cluster: Cluster, db: Database, victim: str, start: Callable[[], int], table: Any
) -> int:
    """Start a run on ``victim`` (``start()`` → its id), keep it from ending by taking the
    database's write lock at once (its last step is a write), and kill ``victim`` with
    SIGKILL while the run is Running; the run's id."""
    for _ in range(3):
        run_id = start()
        with write_lock(db.engine):
            with db.read() as conn:
                status = conn.execute(select(table.c.status).where(table.c.id == run_id)).scalar()
            if status in ("Pending", "Running"):
                cluster.kill(victim)
                return run_id
    raise AssertionError("every run ended before the write lock was taken")


def _revive(cluster: Cluster) -> None:
    """Start again, side by side, the replicas an earlier test killed."""
    dead = [n for n, r in cluster.replicas.items() if r.process.poll() is not None]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(cluster.restart, dead))


def test_runs_of_killed_replicas_are_closed_by_another_within_seconds(
    cluster: Cluster, db: Database
) -> None:
    _revive(cluster)
    project = _project_id(cluster, "doomed")
    with _client(cluster, "registry-1") as client:
        for n in range(4):
            push_image(client, f"doomed/app{n}", "v1", seed=f"doomed-{n}")
            push_image(client, f"doomed/app{n}", "v2", seed=f"doomed-{n}-2")
    r = httpx.post(f"{_api(cluster, 'registry-1')}/retentions",
                   json=_retention_policy(project, "", "**"), auth=ADMIN)  # fmt: skip
    assert r.status_code == 201, r.text
    policy = r.headers["location"].rsplit("/", 1)[1]

    def start_gc() -> int:  # on registry-2
        body = {"schedule": {"type": "Manual"}, "parameters": {"time_window": 0}}
        r = httpx.post(f"{_api(cluster, 'registry-2')}/system/gc/schedule", json=body,
                       auth=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        return int(r.headers["location"].rsplit("/", 1)[1])

    def start_retention() -> int:  # on registry-3
        r = httpx.post(f"{_api(cluster, 'registry-3')}/retentions/{policy}/executions",
                       json={"dry_run": False}, auth=ADMIN)  # fmt: skip
        assert r.status_code == 201, r.text
        return int(r.headers["location"].rsplit("/", 1)[1])

    gc_run = _kill_holding(cluster, db, "registry-2", start_gc, gc_runs)
    execution = _kill_holding(cluster, db, "registry-3", start_retention, retention_executions)
    # the other replicas' schedulers see the runs' locks free, and close them
    closed = _ended(db, gc_runs, gc_run, 3 * GC_TICK)
    assert closed.status == "Error" and "stopped before it ended" in closed.log, closed.log
    assert _ended(db, retention_executions, execution, 3 * RETENTION_TICK).status == "Error"
    with db.read() as conn:
        logs = conn.execute(
            select(retention_tasks.c.log).where(retention_tasks.c.execution_id == execution)
        ).scalars().all()  # fmt: skip
    assert all("stopped before it ended" in log for log in logs if log)
    said = "".join(r.log.read_text(errors="replace") for r in cluster.replicas.values())
    assert said.count(f"garbage collection {gc_run} was abandoned") == 1  # closed once
    assert said.count(f"execution {execution} was abandoned") == 1
