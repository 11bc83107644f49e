"""One layer step of a stage (RUN, COPY/ADD, WORKDIR): its cache key, and running it."""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dockyard.builder.cache.records import cache_key
from dockyard.builder.frontend import CopyStep, MkdirStep, RunStep, Step
from dockyard.errors import Unsupported

if TYPE_CHECKING:  # the worker's step code loads only when a step runs
    from dockyard.builder.solver._solver import Solver
    from dockyard.builder.worker import Snapshot, WorkSnapshot
    from dockyard.builder.worker._mounts import BindMount, RunMount
    from dockyard.dockerfile.mounts import Mount
    from dockyard.layers import LayerBlob

__all__ = ["StepExecutor"]

_URL = ("http://", "https://")


def _is_git(src: str) -> bool:
    return src.startswith(("git@", "git://")) or (src.startswith(_URL) and src.endswith(".git"))


class StepExecutor:
    """Keys and runs the layer steps of one stage for ``solver``."""

    def __init__(self, solver: Solver) -> None:
        self.solver = solver
        self.worker = solver.worker

    # --- keys ----------------------------------------------------------------------------

    def key(self, step: Step, parent: str) -> str:
        s = self.solver
        if isinstance(step, MkdirStep):
            return cache_key(parent, "workdir", step.path, step.user)
        if isinstance(step, RunStep):
            mounts = [[repr(m), self._mount_source_key(m)] for m in step.mounts]
            return cache_key(
                parent,
                "run",
                list(step.argv),
                list(step.env),
                step.user,
                step.workdir,
                mounts,
                step.network,
                step.security,
                [list(f) for f in step.inline_files],
            )
        assert isinstance(step, CopyStep)
        if step.from_stage is not None:
            source = "stage:" + s.result(step.from_stage).key
        elif step.from_image is not None:
            source = "image:" + str(s.image(step.from_image).config().digest)
        else:
            local = [p for p in step.sources if not p.startswith(_URL)]
            source = s.context.checksum(local, step.exclude) if local else ""
        return cache_key(
            parent,
            "add" if step.add else "copy",
            list(step.sources),
            [[c.path, c.data] for c in step.contents],
            step.dest,
            step.workdir,
            step.chown,
            step.chmod,
            step.parents,
            list(step.exclude),
            step.checksum,
            step.unpack,
            step.link,
            source,
        )

    def _mount_source_key(self, m: Mount) -> str:
        if m.type != "bind":
            return ""
        if m.from_:
            index = self.solver.graph.stage_ref(m.from_)
            if index is not None:
                return "stage:" + self.solver.result(index).key
            return "image:" + str(self.solver.image(m.from_).config().digest)
        return self.solver.context.checksum([m.source or "."])

    # --- running -------------------------------------------------------------------------

    def execute(self, step: Step, work: WorkSnapshot, on_output: Callable[[str], None]) -> None:
        if isinstance(step, MkdirStep):
            self.worker.workdir(work, step.path, user=step.user)
        elif isinstance(step, RunStep):
            self._run(step, work, on_output)
        else:
            assert isinstance(step, CopyStep)
            self._copy(step, work)

    @contextlib.contextmanager
    def _source_root(self, ref: str, stack: contextlib.ExitStack) -> Iterator[Path]:
        index = self.solver.graph.stage_ref(ref)
        if index is not None:
            snapshot: Snapshot = self.solver.snapshot_of(self.solver.result(index))
        else:
            image = self.solver.image(ref)
            snapshot = self.worker.snapshots.from_layers(image.layers())
        yield stack.enter_context(self.worker.mounted(snapshot))

    def _run(self, step: RunStep, work: WorkSnapshot, on_output: Callable[[str], None]) -> None:
        from dockyard.builder.worker._run import RunRequest

        s = self.solver
        with contextlib.ExitStack() as stack:
            mounts: list[RunMount] = []
            for m in step.mounts:
                mounts.append(self._mount(m, stack))
            if step.inline_files:
                from dockyard.builder.worker._mounts import BindMount

                pipes = Path(tempfile.mkdtemp(prefix="heredoc-", dir=s.scratch))
                stack.callback(_rmtree, pipes)
                for n, (path, data, mode) in enumerate(step.inline_files):
                    name = f"file-{n}"
                    (pipes / name).write_text(data)
                    os.chmod(pipes / name, mode)
                    mounts.append(BindMount(target=path, root=pipes, source=name))
            if step.mounts:  # RUN --mount's code loads only for a step with mounts
                _make_mount_points(work.root, step.mounts, mounts)
            network = step.network if step.network in ("host", "none") else s.options.network
            request = RunRequest(
                args=step.argv,
                env=step.env,
                cwd=step.workdir,
                user=step.user,
                network=network,  # type: ignore[arg-type]
                mounts=tuple(mounts),
                description=f"process {json.dumps(' '.join(step.argv))}",
            )
            self.worker.run(work, request, secrets=s.options.secrets, on_output=on_output)

    def _mount(self, m: Mount, stack: contextlib.ExitStack) -> RunMount:
        from dockyard.builder.worker._mounts import BindMount, CacheMount, SecretMount, TmpfsMount

        if m.type == "cache":
            return CacheMount(
                target=m.target,
                id=m.id or None,
                sharing=m.sharing or "shared",  # type: ignore[arg-type]
                readonly=m.readonly,
                mode=0o755 if m.mode is None else m.mode,
                uid=m.uid or 0,
                gid=m.gid or 0,
            )
        if m.type == "tmpfs":
            return TmpfsMount(target=m.target, size=m.size or None)
        if m.type == "secret":
            if m.env:
                raise Unsupported("RUN --mount=type=secret,env= is not supported; use a target")
            return SecretMount(
                id=m.id,
                target=m.target or None,
                required=m.required,
                mode=0o400 if m.mode is None else m.mode,
                uid=m.uid or 0,
                gid=m.gid or 0,
            )
        if m.type == "bind":
            if m.from_:
                root = stack.enter_context(self._source_root(m.from_, stack))
            else:
                root = self.solver.context.view()
            return BindMount(
                target=m.target, root=root, source=m.source or "/", readwrite=not m.readonly
            )
        raise Unsupported(f"RUN --mount=type={m.type} is not supported by dockyard build")

    def copy_layer(self, step: CopyStep, parent: Snapshot) -> tuple[LayerBlob, int] | None:
        """The layer of COPY ``step`` on ``parent``, written from its sources without copying
        (with the number of entries: 0 is an empty layer), or None when the step needs the
        copying path (heredocs, URLs, archives ADD may unpack)."""
        from dockyard.builder.worker._copy import CopyRequest
        from dockyard.builder.worker._copy_layer import Uncovered, write_copy_layer
        from dockyard.layers import write_layer

        s = self.solver
        if step.contents or not step.sources or (step.add and step.unpack is not False):
            return None
        if any(p.startswith(_URL) or _is_git(p) for p in step.sources):
            return None
        request = CopyRequest(
            sources=step.sources,
            dest=step.dest,
            cwd=step.workdir,
            chown=step.chown or None,
            chmod=step.chmod or None,
            excludes=step.exclude,
            parents=step.parents,
            preserve_owner=step.from_stage is not None or step.from_image is not None,
        )
        entries = 0
        with contextlib.ExitStack() as stack:
            if request.preserve_owner:
                ref = step.instruction.from_ if hasattr(step.instruction, "from_") else ""
                source_root = stack.enter_context(self._source_root(str(ref), stack))
            else:
                source_root = s.context.view()
            view = stack.enter_context(self.worker.mounted(parent))

            def produce(out: BinaryIO) -> None:
                nonlocal entries
                entries = write_copy_layer(
                    view, source_root, request, out, clamp_mtime=s.options.source_date_epoch
                )

            try:
                layer = write_layer(produce, self.worker.store.content, "gzip")
            except Uncovered:
                return None
        return layer, entries

    def _copy(self, step: CopyStep, work: WorkSnapshot) -> None:
        from dockyard.builder.worker._copy import CopyRequest

        s = self.solver
        chown = step.chown or None
        chmod = step.chmod or None
        base = CopyRequest(
            sources=(),
            dest=step.dest,
            cwd=step.workdir,
            chown=chown,
            chmod=chmod,
            excludes=step.exclude,
            parents=step.parents,
            unpack_archives=step.add and step.unpack is not False,
        )
        from dataclasses import replace

        with contextlib.ExitStack() as stack:
            if step.contents:
                docs = Path(tempfile.mkdtemp(prefix="heredoc-", dir=s.scratch))
                stack.callback(_rmtree, docs)
                for c in step.contents:
                    target = docs / c.path.lstrip("/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(c.data)
                    os.chmod(target, 0o644)
                names = tuple(c.path.lstrip("/") for c in step.contents)
                self.worker.copy(work, docs, replace(base, sources=names, unpack_archives=False))
            if not step.sources:
                return
            if step.from_stage is not None or step.from_image is not None:
                ref = step.instruction.from_ if hasattr(step.instruction, "from_") else ""
                root = stack.enter_context(self._source_root(str(ref), stack))
                request = replace(base, sources=step.sources, preserve_owner=True)
                self.worker.copy(work, root, request)
                return
            urls = [p for p in step.sources if p.startswith(_URL) or _is_git(p)]
            local = tuple(p for p in step.sources if p not in urls)
            for url in urls:
                if _is_git(url):
                    raise Unsupported(f"ADD of a git repository ({url}) is not supported")
                dest = step.dest
                if len(step.sources) > 1 and not dest.endswith("/"):
                    dest += "/"
                self.worker.add_url(
                    work,
                    url,
                    dest,
                    cwd=step.workdir,
                    checksum=step.checksum or None,
                    chown=chown,
                )
            if local:
                self.worker.copy(work, s.context.view(), replace(base, sources=local))


def _make_mount_points(root: Path, wanted: Sequence[Mount], made: Sequence[RunMount]) -> None:
    """The directories of RUN --mount targets, which BuildKit (as in docker 20.10) leaves in
    the layer: cache and tmpfs mounts, and binds of a directory."""
    from dockyard.builder.worker import make_dirs
    from dockyard.builder.worker._mounts import BindMount, CacheMount, TmpfsMount

    for m, mount in zip(wanted, made, strict=False):
        if isinstance(mount, CacheMount | TmpfsMount) or (
            isinstance(mount, BindMount) and _is_dir_source(mount)
        ):
            make_dirs(root, m.target)


def _is_dir_source(m: BindMount) -> bool:
    from dockyard.builder.worker import resolve_in_root

    return resolve_in_root(m.root, m.source).is_dir()


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


_ = posixpath
