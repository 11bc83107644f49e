"""``build``: a Dockerfile and a context → an image in the local store (and other outputs)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from dockyard.builder.cache.records import CACHE_DB, BuildCache
from dockyard.builder.context import ignore_patterns
from dockyard.builder.frontend import BuildGraph, parse_dockerfile
from dockyard.builder.solver._context import BuildContext
from dockyard.builder.solver._export import (
    BuiltImage,
    image_for,
    is_recorded,
    record_image,
    write_archive,
    write_directory,
    write_image,
)
from dockyard.builder.solver._images import ImageResolver, check_bases
from dockyard.builder.solver._lease import LazyLease
from dockyard.builder.solver._options import BuildOptions, OutputSpec
from dockyard.builder.solver._report import Reporter
from dockyard.builder.solver._solver import Solver
from dockyard.builder.worker import Worker
from dockyard.errors import InvalidArgument, NotFound
from dockyard.local import LocalStore
from dockyard.reference import Reference

if TYPE_CHECKING:  # --cache-from code loads only when a build has it
    from dockyard.builder.cache.transfer import ImportedCache

__all__ = ["build"]


def _read_dockerfile(options: BuildOptions) -> tuple[str, str, Path | None]:
    if options.dockerfile_text is not None:
        return options.dockerfile_text, "Dockerfile", None
    path = options.dockerfile or options.context / "Dockerfile"
    if not path.is_file():
        raise NotFound(
            f"failed to read dockerfile: open {path}: no such file or directory",
            hint="pass -f <Dockerfile> or put a Dockerfile in the build context",
        )
    return path.read_text(encoding="utf-8", errors="replace"), path.name, path


def build(
    store: LocalStore,
    options: BuildOptions,
    *,
    out: IO[str] | None = None,
    progress: Literal["plain", "json", "quiet", "tty"] = "plain",
    client_factory: Callable[[], object] | None = None,
) -> BuiltImage:
    """Build ``options.context`` with its Dockerfile; progress lines go to ``out``.

    The image is recorded in ``store`` and tagged with every ``options.tags`` (unless the only
    outputs are archives or a directory); returns its ID, manifest and config.
    """
    tags = [Reference.parse_with_default_tag(t) for t in options.tags]
    for ref in tags:
        if ref.digest is not None:
            raise InvalidArgument(f"invalid tag {ref.familiar}: a build cannot be named by digest")
    reporter = Reporter(out, progress)
    try:
        return _build(store, options, tags, reporter, client_factory)
    finally:
        reporter.close()


def _build(
    store: LocalStore,
    options: BuildOptions,
    tags: list[Reference],
    reporter: Reporter,
    client_factory: Callable[[], object] | None,
) -> BuiltImage:
    text, name, df_path = _read_dockerfile(options)
    dockerfile = parse_dockerfile(text, name)
    graph = BuildGraph.create(
        dockerfile,
        build_args=options.build_args,
        target=options.target,
        platform=options.platform,
    )
    # errors found before any work are one line: no progress has been printed yet
    check_bases(store, graph, pull=options.pull)
    if options.platform is not None or any(st.platform for st in graph.stages):
        from dockyard.builder.emulation import check_graph  # a foreign RUN needs qemu

        check_graph(graph)
    v = reporter.vertex(f"[internal] load build definition from {name}")
    for warning in dockerfile.warnings:
        v.log(warning)
    v.done()
    if not options.context.is_dir():
        raise NotFound(f"build context {options.context} is not a directory")
    patterns = (
        options.ignore_patterns
        if options.ignore_patterns is not None
        else ignore_patterns(options.context, df_path)
    )
    worker = Worker(store, runtime=options.runtime)
    cache = BuildCache(worker.root / CACHE_DB)
    scratch_root = worker.root / "tmp"
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="build-", dir=scratch_root))
    outputs = options.outputs or [OutputSpec("store")]
    try:
        with LazyLease(store) as lease:
            context = BuildContext(options.context, patterns, worker, scratch)
            resolver = ImageResolver(
                store,
                pull=options.pull,
                client_factory=client_factory,
                on_pull=lambda ref: reporter.message(f"pulling {ref}"),
            )
            imported = _import_cache(store, options, reporter, client_factory)
            solver = Solver(
                graph,
                options,
                worker=worker,
                cache=cache,
                resolver=resolver,
                context=context,
                reporter=reporter,
                lease=lease,
                scratch=scratch,
                imported=imported,
            )
            result = solver.solve()
            v = reporter.vertex("exporting to image")
            image = image_for(result, labels=options.labels)
            image.base_names = resolver.names()
            image.all_cached = solver.steps_run() == 0
            image.cache_keys = cache.keys_read()
            current = all(o.type == "store" for o in outputs) and is_recorded(
                store, image, tags, result.base_image_id
            )
            if not current:  # the cached layers are held: the solver leased each hit
                write_image(store, lease, image)
            v.log(f"writing image {image.id}")
            for output in outputs:
                if output.type == "store":
                    if not current:
                        record_image(store, image, tags, result.base_image_id)
                    for ref in tags:
                        v.log(f"naming to {ref}")
                elif output.type in ("oci", "docker"):
                    assert output.dest is not None
                    write_archive(store, image, output.type, output.dest, tags)
                    v.log(f"writing {output.type} archive to {output.dest}")
                else:
                    assert output.dest is not None
                    snap = solver.snapshot_of(result)
                    with worker.mounted(snap) as root:
                        write_directory(worker, root, output.dest)
                    v.log(f"copying files to {output.dest}")
            if options.iidfile is not None:
                from dockyard.atomicfile import write_atomic

                write_atomic(options.iidfile, str(image.id).encode(), durable=False)
            v.done()
            for spec in options.cache_to:
                from dockyard.builder.cache.transfer import export_cache

                export_cache(store, solver.cache_records(spec.mode), spec, reporter, client_factory)
            image.cache_records = {mode: solver.cache_records(mode) for mode in options.cache_modes}
            if options.push:
                _push(store, image, tags, reporter, client_factory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        cache.close()
        worker.close()
    return image


def _import_cache(
    store: LocalStore,
    options: BuildOptions,
    reporter: Reporter,
    client_factory: Callable[[], object] | None,
) -> ImportedCache | None:
    """The records of every ``--cache-from`` location (none with ``--no-cache``)."""
    if not options.cache_from or options.no_cache:
        return None
    if options.imported_cache is not None:
        return options.imported_cache
    from dockyard.builder.cache.transfer import ImportedCache

    imported = ImportedCache(store, client_factory)
    for spec in options.cache_from:
        imported.load(spec, reporter)
    return imported


def _push(
    store: LocalStore,
    image: BuiltImage,
    tags: list[Reference],
    reporter: Reporter,
    client_factory: Callable[[], object] | None,
) -> None:
    from dockyard.client import RegistryClient
    from dockyard.image.copy import copy
    from dockyard.image.store import StoreImageSource

    if not tags:
        raise InvalidArgument("--push needs a name: add -t registry/repository:tag")
    client = client_factory() if client_factory else RegistryClient()
    assert isinstance(client, RegistryClient)
    for ref in tags:
        v = reporter.vertex(f"pushing {ref.familiar}")
        src = StoreImageSource(store, ref)
        dst = client.destination(ref)
        try:
            pushed = copy(src, dst)
        finally:
            dst.close()
            src.close()
        image.pushed[str(ref)] = pushed.digest
        v.log(f"pushed {ref.familiar}@{pushed.digest}")
        v.done()
