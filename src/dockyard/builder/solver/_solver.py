"""The solver: stages in dependency order (independent ones in parallel threads), each step
keyed by content and taken from the cache or run by the worker."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dockyard.builder.cache.records import BuildCache, CachedLayer, cache_key
from dockyard.builder.frontend import (
    BuildGraph,
    CopyStep,
    MetaStep,
    RunStep,
    Stage,
    StageState,
    Step,
    dispatch_stage,
)
from dockyard.builder.solver._context import BuildContext
from dockyard.builder.solver._images import ImageResolver
from dockyard.builder.solver._lease import LazyLease
from dockyard.builder.solver._options import BuildOptions
from dockyard.builder.solver._report import Reporter, Vertex
from dockyard.builder.solver._results import LayerRef, StageResult, StepFailed, timestamp
from dockyard.builder.solver._steps import StepExecutor
from dockyard.builder.worker import Snapshot, Worker, chain_id
from dockyard.errors import RunFailed
from dockyard.image.blob import BlobImage
from dockyard.image.store import StoreSource
from dockyard.oci.platform import Platform

if TYPE_CHECKING:
    from dockyard.builder.cache.transfer import CacheRecord, ImportedCache
    from dockyard.layers import LayerBlob

__all__ = ["SharedSteps", "Slot", "Solver"]

_EMPTY_TAR_LIMIT = 10240


class _Outcome:
    """A stage's result or failure, once its thread has it (concurrent.futures' Future would
    load logging for this)."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._result: StageResult | None = None
        self._error: BaseException | None = None

    def set_result(self, result: StageResult) -> None:
        self._result = result
        self._done.set()

    def set_exception(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    def succeeded(self) -> bool:
        return self._done.is_set() and self._error is None

    def result(self) -> StageResult:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class Slot:
    """One cache key's outcome in :class:`SharedSteps`, once a build ran its step: the layer
    record (or a text value, for stage times), or the step's own failure."""

    __slots__ = ("failure", "lock", "record", "text")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.record: CachedLayer | None = None
        self.text: str | None = None
        self.failure: StepFailed | None = None


class SharedSteps:
    """Identical steps of builds running at the same time run once (BuildKit's in-flight
    vertex deduplication).

    The platforms of ``dockyard build --platform a,b`` are separate builds side by side that
    hold one of these. A stage with its own ``FROM --platform=…`` (the cross-compilation
    pattern) has the same cache keys for every platform: the first build to reach such a step
    runs it, and the others wait for it and take its result (reported as CACHED), or its
    failure, instead of running it again, even with ``--no-cache``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[str, Slot] = {}

    @contextlib.contextmanager
    def once(self, key: str) -> Iterator[Slot]:
        """``key``'s slot, held by this thread alone: a second build asking for the same key
        waits here until the first has run the step and filled the slot (or failed)."""
        with self._lock:
            slot = self._slots.setdefault(key, Slot())
        with slot.lock:
            yield slot


class Solver:
    """Builds the stages of ``graph`` that its target needs."""

    def __init__(
        self,
        graph: BuildGraph,
        options: BuildOptions,
        *,
        worker: Worker,
        cache: BuildCache,
        resolver: ImageResolver,
        context: BuildContext,
        reporter: Reporter,
        lease: LazyLease,
        scratch: Path,
        imported: ImportedCache | None = None,
    ) -> None:
        self.graph = graph
        self.options = options
        self.worker = worker
        self.store = worker.store
        self.cache = cache
        self.resolver = resolver
        self.context = context
        self.reporter = reporter
        self.lease = lease
        self.scratch = scratch
        self.steps = StepExecutor(self)
        #: identical steps (of this build's stages, or of the other platforms') run once
        self.shared = options.shared_steps or SharedSteps()
        self._lock = threading.Lock()
        self._futures: dict[int, _Outcome] = {}
        self._multi = len(graph.stages) > 1
        #: ``--cache-from`` records, asked when the store's own cache misses
        self.imported = imported
        #: (stage index, key) of every step record and stage time used, for ``--cache-to``
        self.used_keys: list[tuple[int, str, bool]] = []

    # --- scheduling ----------------------------------------------------------------------

    def solve(self) -> StageResult:
        return self.result(self.graph.target.index)

    def _start(self, index: int) -> _Outcome:
        with self._lock:
            future = self._futures.get(index)
            if future is not None:
                return future
            future = _Outcome()
            self._futures[index] = future
        thread = threading.Thread(
            target=self._run_stage, args=(index, future), name=f"stage-{index}", daemon=True
        )
        thread.start()
        return future

    def _run_stage(self, index: int, future: _Outcome) -> None:
        try:
            future.set_result(self._build_stage(self.graph.stages[index]))
        except BaseException as e:  # handed to whoever waits for the stage
            future.set_exception(e)

    def result(self, index: int) -> StageResult:
        """The built stage ``index`` (started if needed; waits for it)."""
        return self._start(index).result()

    def steps_run(self) -> int:
        """Layer steps run (not taken from the cache) in every stage built."""
        with self._lock:
            futures = list(self._futures.values())
        return sum(f.result().steps_run for f in futures if f.succeeded())

    def image(self, name: str) -> BlobImage:
        return self.resolver.get(name, self.graph.target_platform)

    # --- one stage -----------------------------------------------------------------------

    def _base(self, stage: Stage) -> StageResult:
        if stage.base_stage is not None:
            base = self.result(stage.base_stage)
            return StageResult(
                plan=base.plan,
                key=base.key,
                layers=list(base.layers),
                history=list(base.history),
                platform=base.platform,
                created=base.created,
                base_image_id=base.base_image_id,
            )
        platform = stage.platform or self.graph.target_platform
        if stage.is_scratch:
            state = StageState.from_image(None, os=platform.os)
            from dockyard.builder.frontend import StagePlan

            # a foreign platform's scratch stage keys apart: its RUN steps run emulated
            key = "scratch" if platform == Platform.current() else f"scratch:{platform}"
            return StageResult(StagePlan(stage, [], state), key, [], [], platform, "")
        image = self.resolver.get(stage.base_name, platform)
        config = image.config()
        state = StageState.from_image(config.data)
        layers = [
            LayerRef(d.digest, diff_id, d.size, d.media_type)
            for d, diff_id in zip(image.manifest().layers, config.diff_ids, strict=True)
        ]
        from dockyard.builder.frontend import StagePlan

        return StageResult(
            plan=StagePlan(stage, [], state),
            key="image:" + str(config.digest),
            layers=layers,
            history=list(config.history),
            platform=config.platform() if stage.platform is None else platform,
            created=config.created or "",
            base_image_id=config.digest,
        )

    def _label(self, stage: Stage, n: int, total: int) -> str:
        prefix = f"{stage.display_name} " if self._multi else ""
        return f"[{prefix}{n}/{total}]"

    def _build_stage(self, stage: Stage) -> StageResult:
        for dep in sorted(stage.deps):
            self._start(dep)  # independent stages run meanwhile
        base = self._base(stage)
        plan = dispatch_stage(self.graph, stage, base.plan.state)
        for dep in sorted(stage.deps):  # ONBUILD triggers may have added some
            self._start(dep)
        layer_steps = [s for s in plan.steps if s.layer]
        total = 1 + len(layer_steps)
        v = self.reporter.vertex(f"{self._label(stage, 1, total)} FROM {stage.base_name}")
        v.done()
        result = base
        result.plan = plan
        new_entries: list[int] = []
        snapshot: Snapshot | None = None
        n = 1
        epoch = self.options.source_date_epoch
        for step in plan.steps:
            if step.instruction.name == "ONBUILD":
                continue  # BuildKit writes no history line for ONBUILD
            if not step.layer:
                result.history.append(replace(step.history, created=None))
                new_entries.append(len(result.history) - 1)
                continue
            n += 1
            name = f"{self._label(stage, n, total)} {_describe(step)}"
            snapshot = self._layer_step(step, result, snapshot, name)
            new_entries.append(len(result.history) - 1)
            with self._lock:
                self.used_keys.append((stage.index, result.key, False))
        # times: SOURCE_DATE_EPOCH, else cached step times; metadata lines take the stage's
        config_text = repr(sorted(plan.state.config.items())) + repr(plan.state.author)
        lines = [result.history[i].created_by for i in new_entries]
        stage_key = cache_key(result.key, "stage-time", config_text, lines)
        if epoch is not None:
            created = timestamp(epoch)
        else:
            with self.shared.once(stage_key) as slot:  # the same time for every platform
                created = (
                    slot.text
                    or self.cache.get_text(stage_key)
                    or self._imported_text(stage_key)
                    or timestamp()
                )
                self.cache.put_text(stage_key, created)
                slot.text = created
            with self._lock:
                self.used_keys.append((stage.index, stage_key, True))
        last = None
        for i in new_entries:
            entry = result.history[i]
            if epoch is not None:
                result.history[i] = replace(entry, created=created)
            elif entry.created is None:
                result.history[i] = replace(entry, created=last or created)
            last = result.history[i].created
        result.created = created
        if snapshot is not None:
            result.extra["snapshot"] = snapshot
        return result

    # --- one layer step ------------------------------------------------------------------

    def _layer_step(
        self, step: Step, result: StageResult, snapshot: Snapshot | None, name: str
    ) -> Snapshot | None:
        key = self.steps.key(step, result.key)
        vertex = self.reporter.vertex(name)
        with self.shared.once(key) as slot:  # another platform running it: wait, take its layer
            if slot.failure is not None:
                vertex.error(str(slot.failure).splitlines()[0])
                raise slot.failure
            child = self._run_layer_step(step, result, snapshot, name, key, vertex, slot)
        return child

    def _run_layer_step(
        self,
        step: Step,
        result: StageResult,
        snapshot: Snapshot | None,
        name: str,
        key: str,
        vertex: Vertex,
        slot: Slot,
    ) -> Snapshot | None:
        cached = slot.record
        if cached is not None and cached.digest is not None and not self.lease.hold(cached.digest):
            cached = None  # a gc took it meanwhile: run it here
        if cached is None and not self.options.no_cache:
            cached = self._lookup(key)
        if cached is not None:
            vertex.cached()
            result.steps_cached += 1
            self._append(result, step, cached, key)
            return None
        parent = snapshot or self.snapshot_of(result)
        direct = self._direct_copy(step, parent, vertex) if isinstance(step, CopyStep) else None
        if direct is not None:
            layer, entries = direct
            created = timestamp(self.options.source_date_epoch)
            if entries == 0:
                record = CachedLayer(None, None, 0, layer.media_type, created)
            else:
                record = CachedLayer(
                    layer.digest, layer.diff_id, layer.size, layer.media_type, created
                )
            self.cache.put(key, record)
            slot.record = record
            vertex.done()
            result.steps_run += 1
            self._append(result, step, record, key)
            return parent if entries == 0 else None  # the child is made when a step needs it
        with self.worker.snapshots.writable(parent) as work:
            try:
                self.steps.execute(step, work, vertex.log)
            except RunFailed as e:
                vertex.error(str(e).splitlines()[0])
                failure = self._failure(step, name, e)
                slot.failure = failure  # the other platforms fail with it, not running it again
                if self.options.debug_shell and isinstance(step, RunStep):
                    from dockyard.builder.solver._debug import open_shell

                    open_shell(self.worker, work.root, step, self.reporter)
                raise failure from None
            except BaseException as e:
                vertex.error(str(e).splitlines()[0] if str(e) else type(e).__name__)
                raise
            layer, child = self.worker.commit(
                work, self.lease, clamp_mtime=self.options.source_date_epoch
            )
        created = timestamp(self.options.source_date_epoch)
        if self._is_empty(layer):
            record = CachedLayer(None, None, 0, layer.media_type, created)
            child = parent
        else:
            record = CachedLayer(layer.digest, layer.diff_id, layer.size, layer.media_type, created)
        self.cache.put(key, record)
        slot.record = record
        vertex.done()
        result.steps_run += 1
        self._append(result, step, record, key)
        return child

    def _lookup(self, key: str) -> CachedLayer | None:
        """The store's record for ``key`` (while its layer is there), else an imported one
        (its layer fetched now)."""
        cached = self.cache.get(key)
        if cached is not None and cached.digest is not None:
            if self.lease.hold(cached.digest):  # a concurrent gc cannot take it now
                return cached
            cached = None
        if cached is None and self.imported is not None:
            cached = self.imported.fetch(key, self.lease)  # held through the lease too
            if cached is not None:
                self.cache.put(key, cached)
        return cached

    def _imported_text(self, key: str) -> str | None:
        return self.imported.text(key) if self.imported is not None else None

    def cache_records(self, mode: str) -> list[CacheRecord]:
        """The records this build used, for ``--cache-to``: ``max`` every stage's, ``min``
        those of the stages the result is made of (the target and its base stages)."""
        from dockyard.builder.cache.transfer import CacheRecord

        wanted: set[int] | None = None
        if mode == "min":
            wanted = set()
            index: int | None = self.graph.target.index
            while index is not None and index not in wanted:
                wanted.add(index)
                index = self.graph.stages[index].base_stage
        out: list[CacheRecord] = []
        seen: set[str] = set()
        for stage_index, key, is_text in list(self.used_keys):
            if (wanted is not None and stage_index not in wanted) or key in seen:
                continue
            seen.add(key)
            if is_text:
                text = self.cache.get_text(key)
                if text is not None:
                    out.append(CacheRecord(key, text=text))
                continue
            record = self.cache.get(key)
            if record is not None:
                out.append(CacheRecord(key, layer=record))
        return out

    def _direct_copy(
        self, step: CopyStep, parent: Snapshot, vertex: Vertex
    ) -> tuple[LayerBlob, int] | None:
        """COPY's layer written from its sources (see worker._copy_layer); None when the step
        needs the copying path."""
        try:
            done = self.steps.copy_layer(step, parent)
        except BaseException as e:
            vertex.error(str(e).splitlines()[0] if str(e) else type(e).__name__)
            raise
        if done is not None:
            self.lease.add(done[0].digest)
        return done

    def _append(self, result: StageResult, step: Step, record: CachedLayer, key: str) -> None:
        result.key = key
        if record.digest is None or record.diff_id is None:
            result.history.append(replace(step.history, created=record.created, empty_layer=True))
            return
        result.layers.append(
            LayerRef(record.digest, record.diff_id, record.size, record.media_type)
        )
        result.history.append(replace(step.history, created=record.created))

    def _is_empty(self, layer: LayerBlob) -> bool:
        if layer.uncompressed_size > _EMPTY_TAR_LIMIT:
            return False
        import tarfile

        from dockyard.layers import decompressor

        with (
            self.store.content.open(layer.digest) as raw,
            decompressor(raw) as plain,
            tarfile.open(fileobj=plain, mode="r|") as tar,
        ):
            return next(iter(tar), None) is None

    def snapshot_of(self, result: StageResult) -> Snapshot:
        """The root filesystem of ``result``'s layers (extracted once, then reused)."""
        known = result.extra.get("snapshot")
        key = "scratch"
        for layer in result.layers:
            key = chain_id(key, layer.diff_id)
        if isinstance(known, Snapshot) and known.key == key:
            return known
        existing = self.worker.snapshots.get(key)
        if existing is not None:
            return existing
        source = StoreSource(self.store)
        return self.worker.snapshots.from_layers([ref.layer(source) for ref in result.layers])

    def _failure(self, step: Step, name: str, error: RunFailed) -> StepFailed:
        df = self.graph.dockerfile
        loc = step.instruction.location
        lines = [f" > {name}:"]
        lines += [f"{t}" for t in error.output_tail[-10:]]
        text = error.message.splitlines()[0]
        snippet = df.error(text, loc).snippet if loc.start_line else ""
        argv = " ".join(step.argv) if isinstance(step, RunStep) else ""
        first = (
            f'process "{argv}" did not complete successfully: exit code: {error.exit_status}'
            if isinstance(step, RunStep)
            else text
        )
        body = "\n".join([first, *lines, "------", *([snippet] if snippet else [])])
        return StepFailed(body, exit_status=error.exit_status, output_tail=error.output_tail)


def _describe(step: Step) -> str:
    text = step.instruction.original or step.history.created_by or ""
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."


_ = MetaStep
