"""``dockyard build --platform a,b``: every platform built, one OCI image index over them.

Each platform is an ordinary single-platform :func:`~dockyard.builder.solver.build` (its own
graph, with BuildKit's ``TARGET*``/``BUILD*`` args for that platform, and cache keys that differ
where the platform does). Platforms build side by side, as many at once as the machine has
cores; a stage with its own ``FROM --platform=…`` (the cross-compilation pattern) has the same
keys for every platform, and its steps run once: the platforms share one
:class:`~dockyard.builder.solver._solver.SharedSteps`, so the first to reach such a step runs it
and the others wait for it and take its layer (BuildKit's in-flight deduplication). The
children are then gathered into one OCI index, in the order the platforms were asked for, each
entry carrying its platform; the tags point at the index. Every local base image's platforms
and every foreign platform's emulator are checked before any platform starts.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from dockyard.atomicfile import write_atomic
from dockyard.builder.emulation import check_platforms, emulated_platforms
from dockyard.builder.frontend import BuildGraph, parse_dockerfile
from dockyard.builder.solver import BuildOptions, BuiltImage, OutputSpec, Reporter, build
from dockyard.builder.solver._images import check_bases
from dockyard.builder.solver._solver import SharedSteps
from dockyard.digest import Digest
from dockyard.errors import InvalidArgument, NotFound
from dockyard.local import Lease, LocalStore
from dockyard.oci import Index, Platform, mediatypes
from dockyard.reference import Reference

if TYPE_CHECKING:  # --cache-from code loads only when a build has it
    from dockyard.builder.cache.transfer import ImportedCache

__all__ = ["BuiltIndex", "build_platforms"]

Mode = Literal["plain", "json", "quiet", "tty"]


@dataclass
class BuiltIndex:
    """What a multi-platform build made: the index and its children, in platform order."""

    index: Index
    images: list[BuiltImage]
    tags: list[Reference] = field(default_factory=list)
    pushed: dict[str, Digest] = field(default_factory=dict)

    @property
    def id(self) -> Digest:
        """The index digest: what ``-q`` and ``--iidfile`` give for a multi-platform image."""
        return self.index.digest

    @property
    def platforms(self) -> list[Platform]:
        return self.index.platforms()


class _Prefixed:
    """One platform's progress lines, each prefixed with the platform, whole lines at a time."""

    def __init__(self, out: IO[str], prefix: str, lock: threading.Lock) -> None:
        self.out = out
        self.prefix = prefix
        self.lock = lock
        self.pending = ""

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        if lines:
            with self.lock:
                self.out.write("".join(f"{self.prefix}{line}\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        with self.lock:
            if self.pending:
                self.out.write(f"{self.prefix}{self.pending}")
                self.pending = ""
            self.out.flush()

    def isatty(self) -> bool:
        return False


def _dockerfile_text(options: BuildOptions) -> tuple[str, str]:
    if options.dockerfile_text is not None:
        return options.dockerfile_text, "Dockerfile"
    path = options.dockerfile or options.context / "Dockerfile"
    if not path.is_file():
        raise NotFound(
            f"failed to read dockerfile: open {path}: no such file or directory",
            hint="pass -f <Dockerfile> or put a Dockerfile in the build context",
        )
    return path.read_text(encoding="utf-8", errors="replace"), path.name


def _check_outputs(outputs: list[OutputSpec]) -> None:
    for output in outputs:
        if output.type == "docker":
            raise InvalidArgument(
                "--output type=docker cannot hold a multi-platform image: a docker archive has "
                "no image index",
                hint="use --output type=oci,dest=FILE, or --platform with one platform",
            )
        if output.dest is not None and str(output.dest) == "-" and output.type == "local":
            raise InvalidArgument("--output type=local cannot write several platforms to stdout")


def _plan(store: LocalStore, options: BuildOptions, platforms: list[Platform]) -> None:
    """Check every platform's graph (the local base images for its platform, then its
    emulators) before any work."""
    text, name = _dockerfile_text(options)
    dockerfile = parse_dockerfile(text, name)
    foreign: list[Platform] = []
    graphs: list[BuildGraph] = []
    for platform in platforms:
        graph = BuildGraph.create(
            dockerfile, build_args=options.build_args, target=options.target, platform=platform
        )
        graphs.append(graph)
        foreign += [p for p in emulated_platforms(graph) if p not in foreign]
    for graph in graphs:  # a base without the platform: no emulator would help
        check_bases(store, graph, pull=options.pull)
    check_platforms(foreign)


def build_platforms(
    store: LocalStore,
    options: BuildOptions,
    platforms: list[Platform],
    *,
    out: IO[str] | None = None,
    progress: Mode = "plain",
    client_factory: Callable[[], object] | None = None,
    jobs: int | None = None,
) -> BuiltIndex:
    """Build ``options`` for every one of ``platforms`` and record one index over the results.

    ``options.tags`` name the index; ``options.outputs`` (store, oci, local) and
    ``options.push`` apply to it as a whole (``type=local`` gets one ``os_arch[_variant]``
    directory per platform, as buildx writes it).
    """
    if len(platforms) < 2:
        raise InvalidArgument("a multi-platform build needs at least two platforms")
    tags = [Reference.parse_with_default_tag(t) for t in options.tags]
    for ref in tags:
        if ref.digest is not None:
            raise InvalidArgument(f"invalid tag {ref.familiar}: a build cannot be named by digest")
    if options.push and not tags:
        raise InvalidArgument("--push needs a name: add -t registry/repository:tag")
    outputs = options.outputs or [OutputSpec("store")]
    _check_outputs(outputs)
    if options.debug_shell:
        raise InvalidArgument("--debug-shell works with one platform at a time")
    _plan(store, options, platforms)
    mode: Mode = "plain" if progress == "tty" else progress
    imported = _import_cache(store, options, out, mode, client_factory)
    lock = threading.Lock()
    shared = SharedSteps()  # a step the platforms have in common runs once

    def one(platform: Platform) -> BuiltImage:
        local = [
            replace(o, dest=o.dest / str(platform).replace("/", "_"))
            for o in outputs
            if o.type == "local" and o.dest is not None
        ]
        child = replace(
            options,
            platform=platform,
            tags=[],
            outputs=[OutputSpec("store"), *local],
            push=False,
            iidfile=None,
            cache_to=[],  # gathered from every platform, exported once below
            cache_modes=tuple(dict.fromkeys(spec.mode for spec in options.cache_to)),
            imported_cache=imported,
            shared_steps=shared,
        )
        prefix = "" if mode == "json" else f"[{platform}] "  # JSON events stay JSON
        sink = None if out is None else _Prefixed(out, prefix, lock)
        try:
            return build(store, child, out=sink, progress=mode, client_factory=client_factory)  # type: ignore[arg-type]
        finally:
            if sink is not None:
                sink.flush()

    workers = max(1, min(len(platforms), jobs or os.cpu_count() or 1))
    with ThreadPoolExecutor(workers, thread_name_prefix="platform") as pool:
        futures = [pool.submit(one, p) for p in platforms]
        wait(futures)
    failed = [e for f in futures if (e := f.exception()) is not None]
    images = [f.result() for f in futures if f.exception() is None]
    if failed:  # the platforms that were built leave no untagged images behind
        _forget(store, images)
        raise failed[0]
    for image, platform in zip(images, platforms, strict=True):
        image.platform = platform
    index = Index.build([img.descriptor for img in images], media_type=mediatypes.OCI_INDEX)
    result = BuiltIndex(index, images)
    reporter = Reporter(out, mode)
    try:
        with store.lease(description="multi-platform build") as lease:
            _hold_cache_layers(store, lease, images)  # a gc meanwhile keeps them for the export
            _export(store, result, tags, outputs, options, reporter)
            _export_cache(store, result, options, reporter, client_factory)
        if options.push:
            _push(store, result, tags, reporter, client_factory)
    finally:
        reporter.close()
    return result


def _export(
    store: LocalStore,
    result: BuiltIndex,
    tags: list[Reference],
    outputs: list[OutputSpec],
    options: BuildOptions,
    reporter: Reporter,
) -> None:
    v = reporter.vertex("exporting manifest list")
    index = result.index
    with store.lease(description="multi-platform build") as lease:
        lease.put_bytes(index.raw, expected=index.digest)
        v.log(f"exporting manifest list {index.digest}")
        with store.metadata.write():
            if any(o.type == "store" for o in outputs):
                store.record_image(index.digest, None, result.images[0].config.created)
            _forget(store, result.images)  # reached through the index: no records of their own
        for output in outputs:
            if output.type == "store":
                for ref in tags:
                    store.set_tag(ref, index.descriptor())
                    v.log(f"naming to {ref}")
            elif output.type == "oci":
                assert output.dest is not None
                _write_oci(store, result, output.dest, tags)
                v.log(f"writing oci archive to {output.dest}")
    result.tags = list(tags)
    if options.iidfile is not None:
        write_atomic(options.iidfile, str(index.digest).encode(), durable=False)
    v.done()


def _import_cache(
    store: LocalStore,
    options: BuildOptions,
    out: IO[str] | None,
    mode: Mode,
    client_factory: Callable[[], object] | None,
) -> ImportedCache | None:
    """``--cache-from``: every location read once, for all the platforms (layers are fetched
    when a platform's step hits them)."""
    if not options.cache_from or options.no_cache:
        return None
    from dockyard.builder.cache.transfer import ImportedCache

    imported = ImportedCache(store, client_factory)
    reporter = Reporter(out, mode)
    try:
        for spec in options.cache_from:
            imported.load(spec, reporter)
    finally:
        reporter.close()
    return imported


def _hold_cache_layers(store: LocalStore, lease: Lease, images: list[BuiltImage]) -> None:
    digests = {
        record.layer.digest
        for image in images
        for records in image.cache_records.values()
        for record in records
        if record.layer is not None and record.layer.digest is not None
    }
    with store.metadata.write(durable=False):
        for digest in sorted(digests, key=str):
            lease.add(digest)


def _export_cache(
    store: LocalStore,
    result: BuiltIndex,
    options: BuildOptions,
    reporter: Reporter,
    client_factory: Callable[[], object] | None,
) -> None:
    """``--cache-to``: one export per location of every platform's records (buildx's)."""
    if not options.cache_to:
        return
    from dockyard.builder.cache.transfer import export_cache, merge_records

    for spec in options.cache_to:
        records = merge_records(image.cache_records.get(spec.mode, []) for image in result.images)
        export_cache(store, records, spec, reporter, client_factory)


def _forget(store: LocalStore, images: list[BuiltImage]) -> None:
    """Drop the image records of ``images`` that no tag names."""
    with store.metadata.write():
        for image in images:
            digest = image.manifest.digest
            if store.metadata.image(digest) is not None and not store.tags(target=digest):
                store.remove_image(digest)


def _write_oci(store: LocalStore, result: BuiltIndex, dest: Path, tags: list[Reference]) -> None:
    from dockyard.image.archive import ArchiveImage, save_archive
    from dockyard.image.store import StoreSource

    item = ArchiveImage(StoreSource(store), result.index.descriptor(), list(tags))
    if str(dest) == "-":
        save_archive([item], sys.stdout.buffer, format="oci")
        return
    if dest.is_dir():
        raise InvalidArgument(f"--output dest {dest} is a directory; an archive must be a file")
    tmp = dest.with_name(f".{dest.name}.tmp")
    with open(tmp, "wb") as f:
        save_archive([item], f, format="oci")
    tmp.replace(dest)


def _push(
    store: LocalStore,
    result: BuiltIndex,
    tags: list[Reference],
    reporter: Reporter,
    client_factory: Callable[[], object] | None,
) -> None:
    from dockyard.client import RegistryClient
    from dockyard.image.copy import copy
    from dockyard.image.store import StoreImageSource

    client = client_factory() if client_factory else RegistryClient()
    assert isinstance(client, RegistryClient)
    for ref in tags:
        v = reporter.vertex(f"pushing {ref.familiar} ({len(result.images)} platforms)")
        src = StoreImageSource(store, ref)
        dst = client.destination(ref)
        try:
            pushed = copy(src, dst, all_platforms=True)  # the children, then the index
        finally:
            dst.close()
            src.close()
        result.pushed[str(ref)] = pushed.digest
        v.log(f"pushed {ref.familiar}@{pushed.digest}")
        v.done()
