"""Garbage collection's knobs: the time window, delete_untagged, dry_run, workers; the CLI
options and the config section that set them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from _infra import backend, run_dockyard
from _infra.registry_server import (
    OCI_INDEX,
    OCI_MANIFEST,
    ASGIClient,
    PushedImage,
    backdate,
    descriptor,
    push_blob,
    push_image,
    sha256,
)
from dockyard.errors import InvalidArgument
from dockyard.registry import Registry, RegistryApp
from dockyard.registry._gc import collect_garbage
from dockyard.registry.config import load
from dockyard.registry.events import DELETE_ARTIFACT, Event


class Recorder:
    def __init__(self) -> None:
        self.seen: list[Event] = []

    def publish(self, event: Event) -> None:
        self.seen.append(event)


def _stored(registry: Registry) -> set[str]:
    return set(registry.storage.list("blobs"))


def _garden(client: ASGIClient, registry: Registry) -> tuple[PushedImage, list[str]]:
    """A tagged image; an untagged index over two untagged images (so deleting the index
    uncovers its children); and three stray blobs. All old."""
    kept = push_image(client, "app", "v1", seed="kept")
    children = [push_image(client, "app", None, seed=s) for s in ("amd", "arm")]
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [descriptor(c.manifest, OCI_MANIFEST) for c in children],
        }
    ).encode()
    r = client.put(
        f"/v2/app/manifests/{sha256(index)}", content=index, headers={"content-type": OCI_INDEX}
    )
    assert r.status_code == 201, r.text
    strays = [push_blob(client, "app", f"stray {i}".encode() * 40) for i in range(3)]
    backdate(registry)
    return kept, strays


@pytest.fixture
def garden(tmp_path: Path) -> Iterator[tuple[ASGIClient, Registry]]:
    registry = backend.open_registry(tmp_path / "r")
    client = ASGIClient(RegistryApp(registry, threads=4))
    yield client, registry
    client.close()
    registry.close()


def test_time_window_keeps_young_blobs(garden: tuple[ASGIClient, Registry]) -> None:
    client, registry = garden
    _, old = _garden(client, registry)
    young = push_blob(client, "app", b"pushed a moment ago")
    report = collect_garbage(registry, grace=3600.0)
    assert sorted(report.blobs) == sorted(old)
    assert report.time_window == 3600.0
    assert client.head(f"/v2/app/blobs/{young}").status_code == 200
    assert collect_garbage(registry, grace=0.0).blobs == [young]  # no window: it goes too


def test_delete_untagged_removes_untagged_manifests_and_then_their_children(
    garden: tuple[ASGIClient, Registry],
) -> None:
    client, registry = garden
    kept, _ = _garden(client, registry)
    without = collect_garbage(registry)
    assert without.manifests == []
    events = Recorder()
    assert collect_garbage(registry, delete_untagged=True, dry_run=True, events=events).manifests
    assert events.seen == []  # a dry run deletes nothing: nothing to tell
    report = collect_garbage(registry, delete_untagged=True, events=events)
    assert len(report.manifests) == 3  # the index, then the two images it held
    assert [(e.type, e.repository, e.digest) for e in events.seen] == [
        (DELETE_ARTIFACT, repo, digest) for repo, digest in report.manifests
    ]
    for repo, digest in report.manifests:
        assert client.get(f"/v2/{repo}/manifests/{digest}").status_code == 404
    assert client.get("/v2/app/manifests/v1").content == kept.manifest
    for blob in (kept.config, *kept.layers):
        assert client.head(f"/v2/app/blobs/{sha256(blob)}").status_code == 200


def test_dry_run_deletes_nothing_and_reports_exactly_what_a_run_deletes(
    garden: tuple[ASGIClient, Registry],
) -> None:
    client, registry = garden
    _garden(client, registry)
    orphan = b"a file no record knows"
    key = f"blobs/sha256/{sha256(orphan)[7:9]}/{sha256(orphan)[7:]}"
    writer = registry.storage.writer(key)
    writer.write(orphan)
    writer.close()
    backdate(registry)
    files = _stored(registry)
    # no time window: backdate cannot age the orphan where an object store keeps its times
    dry = collect_garbage(registry, grace=0.0, dry_run=True, delete_untagged=True)
    assert dry.dry_run and _stored(registry) == files
    assert client.get("/v2/app/manifests/v1").status_code == 200
    for _, digest in dry.manifests:
        assert client.head(f"/v2/app/manifests/{digest}").status_code == 200
    real = collect_garbage(registry, grace=0.0, delete_untagged=True)
    assert sorted(dry.manifests) == sorted(real.manifests)
    assert sorted(dry.blobs) == sorted(real.blobs)
    assert dry.orphans == real.orphans == [key]
    assert dry.bytes_freed == real.bytes_freed > 0
    assert _stored(registry) == files - {key} - {
        f"blobs/sha256/{d[7:9]}/{d[7:]}" for d in real.blobs
    }


def test_workers_delete_the_same_as_one(tmp_path: Path) -> None:
    outcomes = []
    for workers in (1, 4):
        registry = backend.open_registry(tmp_path / f"w{workers}")
        with ASGIClient(RegistryApp(registry, threads=4)) as client:
            _garden(client, registry)
            for i in range(30):
                push_blob(client, "more", f"garbage {i}".encode())
            backdate(registry)
            report = collect_garbage(registry, delete_untagged=True, workers=workers)
            outcomes.append(
                (
                    sorted(report.manifests),
                    sorted(report.blobs),
                    report.bytes_freed,
                    sorted(_stored(registry)),
                )
            )
            assert report.workers == workers
        registry.close()
    assert outcomes[0] == outcomes[1]
    assert len(outcomes[0][1]) > 30


@pytest.mark.slow
def test_cli_takes_the_knobs_and_prints_a_json_report(tmp_path: Path) -> None:
    root = tmp_path / "r"
    registry = backend.open_registry(root)
    with ASGIClient(RegistryApp(registry, threads=4)) as client:
        _, strays = _garden(client, registry)
        young = push_blob(client, "app", b"young")
    registry.close()
    home = tmp_path / "home"
    # DOCKYARD_TEST_BACKEND=cluster: the command finds the registry's database and bucket
    env = backend.serve_env(root, {})
    args = ["registry", "gc", "--root", str(root), "--format", "json"]
    dry = json.loads(
        run_dockyard(
            *args,
            "--dry-run",
            "--delete-untagged",
            "--time-window",
            "1",
            "--workers",
            "3",
            root=home,
            env=env,
        ).stdout
    )
    assert dry["dry_run"] and dry["workers"] == 3 and dry["time_window"] == 3600
    assert len(dry["manifests"]) == 3 and set(strays) <= set(dry["blobs"])
    assert young not in dry["blobs"]
    done = json.loads(run_dockyard(*args, "-m", "--time-window", "0", root=home, env=env).stdout)
    assert sorted(map(tuple, done["manifests"])) == sorted(map(tuple, dry["manifests"]))
    assert set(done["blobs"]) == set(dry["blobs"]) | {young}
    both = run_dockyard(
        *args, "--time-window", "1", "--grace", "5", root=home, env=env, check=False
    )
    assert both.returncode == 2 and "not both" in both.stderr


def test_config_sets_the_defaults_and_rejects_unknown_knobs(tmp_path: Path) -> None:
    env = {"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path)}
    storage = load(
        None,
        {
            **env,
            "REGISTRY_STORAGE_MAINTENANCE_GC_TIMEWINDOW": "2h",
            "REGISTRY_STORAGE_MAINTENANCE_GC_WORKERS": "4",
            "REGISTRY_STORAGE_MAINTENANCE_GC_DELETEUNTAGGED": "true",
        },
    ).storage
    assert (storage.gc_time_window, storage.gc_workers, storage.gc_delete_untagged) == (
        7200.0,
        4,
        True,
    )
    with pytest.raises(InvalidArgument, match=r"storage\.maintenance\.gc\.dryrun"):
        load(None, {**env, "REGISTRY_STORAGE_MAINTENANCE_GC_DRYRUN": "true"})
    with pytest.raises(InvalidArgument, match="1 to 10"):
        load(None, {**env, "REGISTRY_STORAGE_MAINTENANCE_GC_WORKERS": "11"})
