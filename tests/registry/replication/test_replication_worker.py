"""The replication worker's threads against a real distribution 2.8.2 destination: copies into
one destination repository take turns (distribution rewrites a repository's blob links in
place, so two uploads of one blob into one repository at once can make it refuse the manifest
with DIGEST_INVALID), and every task of the execution succeeds; where that happens anyway
(another process's copy), the task is tried again rather than failed for good."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from _infra.mirror import relay
from _infra.projects_registry import wait_for
from _infra.registry_server import ASGIClient, push_image
from _infra.replication import Destination
from dockyard.registry import Registry
from dockyard.registry.metadata import Database
from dockyard.registry.replication import (
    PENDING,
    RUNNING,
    SUCCESS,
    ArtifactCopy,
    CopyStats,
    NewTask,
    PolicyStore,
    RegistryStore,
    ReplicationQueue,
    ReplicationWorker,
    SecretBox,
    policy_from_json,
    registry_from_json,
)

pytestmark = pytest.mark.slow


def test_copies_into_one_destination_repository_take_turns(
    registry: Registry,
    client: ASGIClient,
    destination: Destination,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = push_image(client, "same/app", "v1", seed="turns")
    r = client.put("/v2/same/app/manifests/latest", content=image.manifest,
                   headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert r.status_code == 201, r.text
    db = Database(tmp_path / "replication.db")
    credential = {"access_key": destination.user, "access_secret": destination.password}
    body = {"name": "d", "url": destination.url, "insecure": True, "credential": credential}
    endpoint = RegistryStore(db, SecretBox(b"take turns")).create(registry_from_json(body))
    policy = PolicyStore(db).create(
        policy_from_json({"name": "turns", "dest_registry": {"id": endpoint.id}})
    )
    queue = ReplicationQueue(db)
    # a tag, another tag of the same image, and the image by digest (a referrer's subject)
    items = [NewTask("same/app", ref, "turns/app", tag)
             for ref, tag in (("v1", "v1"), ("latest", "latest"), (image.digest, ""))]  # fmt: skip
    active: Counter[str] = Counter()
    most: Counter[str] = Counter()
    lock = threading.Lock()
    run = ArtifactCopy.run

    def watched(self: ArtifactCopy, task: NewTask) -> CopyStats:
        with lock:
            active[task.dst_repository] += 1
            most[task.dst_repository] = max(most[task.dst_repository],
                                            active[task.dst_repository])  # fmt: skip
        try:
            time.sleep(0.5)  # long enough for the other thread to start a copy meanwhile
            return run(self, task)
        finally:
            with lock:
                active[task.dst_repository] -= 1

    monkeypatch.setattr(ArtifactCopy, "run", watched)
    worker = ReplicationWorker(registry, queue, PolicyStore(db),
                               RegistryStore(db, SecretBox(b"take turns")), threads=2,
                               poll=0.1)  # fmt: skip
    execution = queue.start(policy.id, "manual", items, time.time())
    worker.start()
    try:
        wait_for(lambda: queue.execution(execution).status not in (PENDING, RUNNING), timeout=60)
    finally:
        worker.close()
    info = queue.execution(execution)
    assert (info.status, info.counts) == (SUCCESS, {SUCCESS: 3}), queue.tasks(execution)
    assert most == {"turns/app": 1}  # never two copies into it at once
    assert len(worker.repositories) == 0  # no lock left behind
    for tag in ("v1", "latest"):
        assert destination.digest("turns/app", tag) == image.digest


def test_a_manifest_the_destination_calls_invalid_is_tried_again(
    registry: Registry, client: ASGIClient, destination: Destination, tmp_path: Path
) -> None:
    """A relay in front of the destination answers manifest PUTs as distribution does when it
    reads a blob link another upload is rewriting; the task waits and is tried again, and
    succeeds once the destination takes the manifest."""
    image = push_image(client, "mid/app", "v1", seed="mid-write")
    db = Database(tmp_path / "replication.db")
    with relay(destination.host) as rel:
        credential = {"access_key": destination.user, "access_secret": destination.password}
        body = {"name": "d", "url": f"http://{rel.host}", "insecure": True,
                "credential": credential}  # fmt: skip
        endpoint = RegistryStore(db, SecretBox(b"mid write")).create(registry_from_json(body))
        policy = PolicyStore(db).create(
            policy_from_json({"name": "mid", "dest_registry": {"id": endpoint.id}})
        )
        queue = ReplicationQueue(db, backoff=0.1)
        worker = ReplicationWorker(registry, queue, PolicyStore(db),
                                   RegistryStore(db, SecretBox(b"mid write")), threads=1,
                                   poll=0.1, max_wait=0.5)  # fmt: skip
        rel.mode = "badmanifest"
        task = NewTask("mid/app", "v1", "mid/app", "v1")
        execution = queue.start(policy.id, "manual", [task], time.time())
        worker.start()
        try:
            wait_for(lambda: rel.refused >= 2, timeout=60)  # refused, and tried again
            assert queue.execution(execution).status in (PENDING, RUNNING)
            rel.mode = "pass"
            wait_for(lambda: queue.execution(execution).status not in (PENDING, RUNNING),
                     timeout=60)  # fmt: skip
        finally:
            rel.mode = "pass"
            worker.close()
    info = queue.execution(execution)
    [done], _ = queue.tasks(execution)
    assert info.status == SUCCESS and done.run_count >= 2, done.log
    assert "DIGEST_INVALID" in done.log or "did not match" in done.log, done.log
    assert "next attempt in" in done.log and "not retried" not in done.log, done.log
    assert destination.digest("mid/app", "v1") == image.digest
