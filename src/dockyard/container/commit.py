"""``commit``: a container's changes (its overlay upper directory) as a new image layer.

The layer is the upper directory diffed against the lower layers (whiteouts for deletions,
opaque directories, as ``docker commit`` writes them); the image config is the container's:
its Entrypoint, Cmd, Env, WorkingDir and User, then the ``--change`` instructions applied as
``docker commit`` applies them (the Dockerfile instructions it accepts, dispatched by the
builder's frontend), with one history entry for the new layer carrying ``--message`` and
``--author``.

A running container is paused while its layer is written (``--pause``, the default, as with
docker): with the runtime's ``pause``/``resume`` when the container has a cgroup (runc), else
(crun without a cgroup manager, as dockyard runs it) by stopping every process of the
container with SIGSTOP and continuing them after, which freezes its file system the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from dockyard.builder.worker import BUILD_DIR, SnapshotManager
from dockyard.container._records import ContainerRecord
from dockyard.container._run import _runtime, _runtime_argv, container_store
from dockyard.digest import Digest
from dockyard.errors import Conflict, InvalidArgument
from dockyard.image.blob import BlobImage, open_any
from dockyard.image.store import StoreSource
from dockyard.layers import tar_overlay_diff, write_layer
from dockyard.local import LocalStore
from dockyard.oci import Descriptor, ImageConfig, Manifest, mediatypes, parse_manifest_or_index
from dockyard.reference import Reference

__all__ = ["COMMIT_CHANGES", "apply_changes", "commit_container"]

#: the Dockerfile instructions ``docker commit --change`` accepts
COMMIT_CHANGES = frozenset(
    ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "USER", "VOLUME",
     "WORKDIR")
)  # fmt: skip
_MAX_CHANGES = 256


def apply_changes(config: dict[str, Any], changes: Sequence[str]) -> dict[str, Any]:
    """``config`` (a container config: Env, Cmd, Entrypoint, …) with the Dockerfile
    instructions ``changes`` applied as ``docker commit --change`` applies them: variables
    expanded from the config's Env, ``ENTRYPOINT`` clearing Cmd unless a ``CMD`` is given too,
    a relative ``WORKDIR`` joined to the current one; then what a change left empty is taken
    from the container's config again (docker's merge)."""
    if not changes:
        return dict(config)
    if len(changes) > _MAX_CHANGES:
        raise InvalidArgument(f"too many --change instructions (at most {_MAX_CHANGES})")
    from dockyard.builder.frontend import (
        BuildGraph,
        Dispatcher,
        DockerfileError,
        StageState,
        parse_dockerfile,
    )

    text = "FROM scratch\n" + "\n".join(changes) + "\n"
    try:
        graph = BuildGraph.create(parse_dockerfile(text, "--change"))
    except DockerfileError as e:
        raise InvalidArgument(f"invalid --change: {e.message}") from None
    if len(graph.stages) > 1:
        raise InvalidArgument("from is not a valid change command")
    stage = graph.stages[0]
    for ins in stage.instructions:
        if ins.name not in COMMIT_CHANGES:
            raise InvalidArgument(f"{ins.name.lower()} is not a valid change command")
    cfg: dict[str, Any] = json.loads(json.dumps(config))
    state = StageState(config=cfg, workdir=str(cfg.get("WorkingDir") or "/"))
    for entry in cfg.get("Env") or []:
        key, _, value = str(entry).partition("=")
        state.env[key] = value
    dispatcher = Dispatcher(graph, stage, state)
    for ins in stage.instructions:
        try:
            dispatcher.dispatch(ins)
        except DockerfileError as e:
            raise InvalidArgument(f"invalid --change {ins.original!r}: {e.message}") from None
    new = state.config
    # docker's merge(): what the changes left empty comes from the container's config
    if not new.get("Entrypoint"):
        if not new.get("Cmd") and config.get("Cmd"):
            new["Cmd"] = list(config["Cmd"])
        if "Entrypoint" not in new and config.get("Entrypoint"):
            new["Entrypoint"] = list(config["Entrypoint"])
    return new


def _config(
    base: dict[str, Any],
    record: ContainerRecord,
    diff_id: Digest,
    *,
    changes: Sequence[str] = (),
    message: str = "",
    author: str = "",
) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(base))
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    config = dict(data.get("config") or {})
    config["Env"] = list(record.env) or None
    config["Cmd"] = list(record.cmd) or None
    config["Entrypoint"] = list(record.entrypoint) or None
    config["WorkingDir"] = record.workdir
    config["User"] = record.user
    config = apply_changes({k: v for k, v in config.items() if v is not None}, changes)
    data["config"] = {k: v for k, v in config.items() if v is not None}
    data["created"] = created
    if author:
        data["author"] = author
    else:
        data.pop("author", None)
    data["rootfs"] = {
        "type": "layers",
        "diff_ids": [*data.get("rootfs", {}).get("diff_ids", []), str(diff_id)],
    }
    # docker's entry: the container's Cmd (not its Entrypoint), the message and the author
    entry: dict[str, Any] = {"created": created}
    if author:
        entry["author"] = author
    entry["created_by"] = " ".join(record.cmd)
    if message:
        entry["comment"] = message
    data["history"] = [*data.get("history", []), entry]
    return data


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the container's processes: its init reaps
    orphans), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += children.get(current, [])
    return out


def _stopped(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True  # gone: nothing to stop
    return stat[stat.rfind(b")") + 2 :].split()[0] in (b"T", b"t")


@contextlib.contextmanager
def _stopped_processes(init: int) -> Iterator[None]:
    """Every process of the container stopped (SIGSTOP) meanwhile, then continued; those
    stopped before are left stopped. Repeated until no process is left running (a fork
    between the listing and the signal is caught by the next round)."""
    ours: list[int] = []
    try:
        for _ in range(100):
            running = [p for p in _descendants(init) if p not in ours and not _stopped(p)]
            if not running:
                break
            for pid in running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGSTOP)
                    ours.append(pid)
            for pid in running:  # SIGSTOP takes effect asynchronously
                for _ in range(1000):
                    if _stopped(pid):
                        break
                    os.sched_yield()
        yield
    finally:
        for pid in ours:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def _paused(store: LocalStore, record: ContainerRecord) -> Iterator[None]:
    """``record``'s container paused meanwhile (see the module's docstring)."""

    runtime = _runtime(container_store(store))

    def call(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            _runtime_argv(runtime, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )

    state = call("state", record.id)
    try:
        init = int(json.loads(state.stdout)["pid"])
        status = json.loads(state.stdout)["status"]
    except (ValueError, KeyError, TypeError):
        raise Conflict(f"container {record.name} is not running") from None
    if status == "paused":  # paused by someone else: left as it is
        yield
        return
    if call("pause", record.id).returncode == 0:
        try:
            yield
        finally:
            call("resume", record.id)
        return
    with _stopped_processes(init):  # no cgroup to freeze
        yield


def commit_container(
    store: LocalStore,
    container: str,
    target: str | None,
    *,
    changes: Sequence[str] = (),
    message: str = "",
    author: str = "",
    pause: bool = True,
) -> Digest:
    """Make an image of ``container``'s image plus its changes; tag it ``target`` if given.
    ``changes`` are ``docker commit --change`` instructions; a running container is paused
    while its layer is written unless ``pause`` is false. Returns the new image's ID (its
    config digest)."""
    ref = Reference.parse_with_default_tag(target) if target else None
    if ref is not None and ref.digest is not None:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    containers = container_store(store)
    record = containers.find(container)
    apply_changes({}, changes)  # a bad change fails before any work
    paused = _paused(store, record) if pause and record.is_running() else None
    with paused or contextlib.nullcontext():
        return _commit(store, record, ref, changes=changes, message=message, author=author)


def _commit(
    store: LocalStore,
    record: ContainerRecord,
    ref: Reference | None,
    *,
    changes: Sequence[str],
    message: str,
    author: str,
) -> Digest:
    containers = container_store(store)
    directory = containers.directory(record.id)
    raw = store.content.read_bytes(Digest.parse(record.manifest))
    base = open_any(StoreSource(store), parse_manifest_or_index(raw).descriptor())
    if not isinstance(base, BlobImage):
        raise InvalidArgument(f"the image of container {record.name} is not an image manifest")
    snapshot = SnapshotManager(store.root / BUILD_DIR).from_layers(base.layers())
    lowers = [directory / "init", *snapshot.lowers]
    upper = directory / "upper"
    with store.lease(description=f"commit {record.name}") as lease:
        layer = write_layer(
            lambda out: tar_overlay_diff(upper, lowers, out, docker=True), store.content
        )
        lease.add(layer.digest)
        config = ImageConfig.build(
            _config(
                base.config().data,
                record,
                layer.diff_id,
                changes=changes,
                message=message,
                author=author,
            )
        )
        lease.put_bytes(config.raw, expected=config.digest)
        manifest = base.manifest()
        media_type = (
            mediatypes.OCI_LAYER_GZIP
            if manifest.media_type == mediatypes.OCI_MANIFEST
            else mediatypes.DOCKER_LAYER_GZIP
        )
        new = Manifest.build(
            Descriptor(manifest.config.media_type, config.digest, len(config.raw)),
            [*manifest.layers, Descriptor(media_type, layer.digest, layer.size)],
            media_type=manifest.media_type,
        )
        lease.put_bytes(new.raw, expected=new.digest)
        store.record_image(new.digest, config.digest, config.data.get("created"))
        if ref is not None:
            store.set_tag(ref, new.descriptor())
    return config.digest
