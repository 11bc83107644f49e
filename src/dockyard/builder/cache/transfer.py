"""Sharing the build cache: export its records and layers as an OCI artifact, import them back.

The artifact is shaped like BuildKit's registry cache (``image-manifest=true``): an OCI image
manifest whose config is an ``application/vnd.buildkit.cacheconfig.v0`` document and whose
layers are the cached layer blobs. The config's ``layers`` list the blobs (with their diff IDs
as ``containerd.io/uncompressed``); each of its ``records`` is one of dockyard's content keys
with the layer it produced (``layers: [{"layer": i, "createdAt": …}]``), or with a
``dockyard`` object for steps that changed nothing and for stage creation times. BuildKit's own
keys are not dockyard's, so each tool only hits on records the same tool wrote; importing also
accepts BuildKit's older form (an index listing the layers and the config).

A multi-platform build exports one artifact for all its platforms, as buildx does: the records
of every platform's build (their keys include the platform where it matters, so they do not
collide), each key once (:func:`merge_records`). A ``--cache-from`` of it gives each platform's
build its own records and the steps the platforms share.

Importing reads only the manifest and the config; a layer is downloaded when a step hits it.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from dockyard.builder.cache.records import CachedLayer
from dockyard.builder.cache.spec import CacheSpec
from dockyard.client import RegistryClient
from dockyard.digest import Digest, digest_of
from dockyard.errors import DockyardError, InvalidArgument, ManifestInvalid
from dockyard.image.copy import copy
from dockyard.image.layout import LayoutDestination, LayoutSource
from dockyard.image.store import StoreSource
from dockyard.oci import Descriptor, Index, Manifest, mediatypes, parse_manifest_or_index
from dockyard.reference import Reference

if TYPE_CHECKING:
    from dockyard.builder.solver._lease import LazyLease
    from dockyard.builder.solver._report import Reporter
    from dockyard.image import ImageDestination, ImageSource
    from dockyard.local import LocalStore

__all__ = ["CACHE_CONFIG", "CacheRecord", "ImportedCache", "export_cache", "merge_records"]

CACHE_CONFIG = "application/vnd.buildkit.cacheconfig.v0"
UNCOMPRESSED = "containerd.io/uncompressed"
CREATED = "buildkit/createdat"

ClientFactory = Callable[[], object]


@dataclass(frozen=True, slots=True)
class CacheRecord:
    """One exported record: a step's layer, or a plain value (a stage's creation time)."""

    key: str
    layer: CachedLayer | None = None
    text: str | None = None


def _client(factory: ClientFactory | None) -> Any:
    client = factory() if factory else RegistryClient()
    assert isinstance(client, RegistryClient)
    return client


def _reference(spec: CacheSpec) -> Any:
    return Reference.parse_with_default_tag(str(spec.ref))


# --- export --------------------------------------------------------------------------------


def cache_document(records: Iterable[CacheRecord]) -> tuple[bytes, list[Descriptor]]:
    """The cache config (canonical JSON) and the layer descriptors it refers to."""
    layers: list[Descriptor] = []
    index: dict[Digest, int] = {}
    doc_layers: list[dict[str, Any]] = []
    doc_records: list[dict[str, Any]] = []
    for rec in records:
        if rec.text is not None:
            doc_records.append({"digest": rec.key, "dockyard": {"value": rec.text}})
            continue
        layer = rec.layer
        assert layer is not None
        if layer.digest is None or layer.diff_id is None:
            extra = {"emptyLayer": True, "createdAt": layer.created, "mediaType": layer.media_type}
            doc_records.append({"digest": rec.key, "dockyard": extra})
            continue
        if layer.digest not in index:
            index[layer.digest] = len(layers)
            annotations = {UNCOMPRESSED: str(layer.diff_id), CREATED: layer.created}
            layers.append(Descriptor(layer.media_type, layer.digest, layer.size, None, annotations))
            doc_layers.append({"blob": str(layer.digest), "parent": -1, "annotations": annotations})
        doc_records.append(
            {
                "digest": rec.key,
                "layers": [{"layer": index[layer.digest], "createdAt": layer.created}],
            }
        )
    doc = {"layers": doc_layers, "records": doc_records}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode(), layers


def merge_records(groups: Iterable[Iterable[CacheRecord]]) -> list[CacheRecord]:
    """Several builds' records as one export (the platforms of a multi-platform build): each
    key once, in the order the builds are given; a step they share (the same key: a stage
    pinned with ``FROM --platform=…``) has the same record in each."""
    seen: set[str] = set()
    out: list[CacheRecord] = []
    for group in groups:
        for record in group:
            if record.key not in seen:
                seen.add(record.key)
                out.append(record)
    return out


class _ArtifactBlobs:
    """The config from memory, the layers from the local store."""

    def __init__(self, store: LocalStore, config: bytes, config_digest: Digest) -> None:
        self._store = StoreSource(store)
        self._config = config
        self._digest = config_digest

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        if descriptor.digest == self._digest:
            return io.BytesIO(self._config)
        return self._store.open_blob(descriptor)

    def read_blob(self, descriptor: Descriptor) -> bytes:
        if descriptor.digest == self._digest:
            return self._config
        return self._store.read_blob(descriptor)


class _ArtifactSource:
    def __init__(self, manifest: Manifest, blobs: _ArtifactBlobs) -> None:
        self.manifest = manifest
        self._blobs = blobs

    @property
    def blobs(self) -> _ArtifactBlobs:
        return self._blobs

    def root(self) -> tuple[Descriptor, bytes]:
        return self.manifest.descriptor(), self.manifest.raw

    def describe(self) -> str:
        return "build cache"

    def close(self) -> None:
        pass


def _destination(spec: CacheSpec, factory: ClientFactory | None) -> ImageDestination:
    if spec.type == "registry":
        dst: ImageDestination = _client(factory).destination(_reference(spec))
        return dst

    assert spec.path is not None
    return LayoutDestination(spec.path, name=spec.tag or "latest")


def export_cache(
    store: LocalStore,
    records: list[CacheRecord],
    spec: CacheSpec,
    reporter: Reporter,
    client_factory: ClientFactory | None = None,
) -> Digest:
    """Write ``records`` and their layers to ``spec``; returns the manifest digest."""
    where = "registry" if spec.type == "registry" else "client directory"
    v = reporter.vertex(f"exporting cache to {where}")
    try:
        config, layers = cache_document(records)
        config_desc = Descriptor(CACHE_CONFIG, digest_of(config), len(config))
        manifest = Manifest.build(config_desc, layers)
        for layer in layers:
            v.log(f"writing layer {layer.digest}")
        v.log(f"writing config {config_desc.digest}")
        source = _ArtifactSource(manifest, _ArtifactBlobs(store, config, config_desc.digest))
        dst = _destination(spec, client_factory)
        try:
            copy(source, dst)
        finally:
            dst.close()
        v.log(f"writing cache manifest {manifest.digest} to {spec.describe()}")
    except DockyardError as e:
        if not spec.ignore_error:
            v.error(f"failed to export cache to {spec.describe()}: {e.message}")
            raise
        v.log(f"WARNING: failed to export cache to {spec.describe()}: {e.message}")
        v.done()
        return digest_of(b"")
    v.done()
    return manifest.digest


# --- import --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Found:
    layer: CachedLayer
    descriptor: Descriptor | None
    source: ImageSource | None


class ImportedCache:
    """Records read from ``--cache-from`` locations; layers are fetched on a hit."""

    def __init__(self, store: LocalStore, client_factory: ClientFactory | None = None) -> None:
        self.store = store
        self._factory = client_factory
        self._records: dict[str, _Found] = {}
        self._texts: dict[str, str] = {}
        self._lock = threading.Lock()
        self.fetched: list[Digest] = []

    def __len__(self) -> int:
        return len(self._records) + len(self._texts)

    def _open(self, spec: CacheSpec) -> ImageSource:
        if spec.type == "registry":
            src: ImageSource = _client(self._factory).source(_reference(spec))
            return src

        assert spec.path is not None
        if spec.tag is None:  # the only entry, else BuildKit's default tag (what export writes)
            layout = LayoutSource(spec.path)
            try:
                layout.root_descriptor()
            except InvalidArgument:  # several entries (say, mode=max and tag=min exports)
                return LayoutSource(spec.path, name="latest")
            return layout
        return LayoutSource(spec.path, name=spec.tag)

    def load(self, spec: CacheSpec, reporter: Reporter) -> None:
        """Read the records at ``spec``; a location that cannot be read is a warning only
        (the build goes on without it, as BuildKit's does)."""
        v = reporter.vertex(f"importing cache manifest from {spec.describe()}")
        try:
            source = self._open(spec)
            self._read(source)
        except DockyardError as e:
            v.log(f"WARNING: failed to import cache from {spec.describe()}: {e.message}")
            v.done()
            reporter.message(f"WARNING: cache import from {spec.describe()} failed: {e.message}")
            return
        v.done()

    def _read(self, source: ImageSource) -> None:
        root, raw = source.root()
        parsed = parse_manifest_or_index(raw, root.media_type)
        if isinstance(parsed, Index):
            entries = list(parsed.manifests)
            configs = [d for d in entries if d.media_type == CACHE_CONFIG]
            blobs = [d for d in entries if d.media_type != CACHE_CONFIG]
        else:
            configs = [parsed.config] if parsed.config.media_type == CACHE_CONFIG else []
            blobs = list(parsed.layers)
        if not configs:
            raise ManifestInvalid(
                f"{source.describe()} is not a build cache (no {CACHE_CONFIG} config)"
            )
        doc = json.loads(source.blobs.read_blob(configs[0]))
        by_digest = {d.digest: d for d in blobs}
        self._parse(doc, by_digest, source)

    def _parse(self, doc: Any, blobs: dict[Digest, Descriptor], source: ImageSource) -> None:
        if not isinstance(doc, dict):
            raise ManifestInvalid("invalid build cache config: not a JSON object")
        layers: list[tuple[Descriptor, Digest] | None] = []
        for entry in doc.get("layers") or []:
            try:
                desc = blobs.get(Digest.parse(entry["blob"]))
                diff = (entry.get("annotations") or {}).get(UNCOMPRESSED) or (
                    (desc.annotations or {}).get(UNCOMPRESSED) if desc else None
                )
                layers.append((desc, Digest.parse(diff)) if desc and diff else None)
            except (KeyError, TypeError, DockyardError):
                layers.append(None)
        with self._lock:
            for rec in doc.get("records") or []:
                if not isinstance(rec, dict) or not isinstance(rec.get("digest"), str):
                    continue
                key = rec["digest"]
                own = rec.get("dockyard")
                if isinstance(own, dict) and isinstance(own.get("value"), str):
                    self._texts.setdefault(key, own["value"])
                elif isinstance(own, dict) and own.get("emptyLayer"):
                    media = str(own.get("mediaType") or mediatypes.OCI_LAYER_GZIP)
                    empty = CachedLayer(None, None, 0, media, str(own.get("createdAt", "")))
                    self._records.setdefault(key, _Found(empty, None, None))
                else:
                    self._add_layer_record(key, rec, layers, source)

    def _add_layer_record(
        self,
        key: str,
        rec: dict[str, Any],
        layers: list[tuple[Descriptor, Digest] | None],
        source: ImageSource,
    ) -> None:
        results = rec.get("layers")
        if not isinstance(results, list) or len(results) != 1:
            return
        i = results[0].get("layer") if isinstance(results[0], dict) else None
        if not isinstance(i, int) or not 0 <= i < len(layers) or layers[i] is None:
            return
        found = layers[i]
        assert found is not None
        desc, diff_id = found
        record = CachedLayer(
            desc.digest, diff_id, desc.size, desc.media_type, str(results[0].get("createdAt", ""))
        )
        self._records.setdefault(key, _Found(record, desc, source))

    def text(self, key: str) -> str | None:
        return self._texts.get(key)

    def fetch(self, key: str, lease: LazyLease) -> CachedLayer | None:
        """The record for ``key`` with its layer now in the store (downloaded if missing), or
        None when there is none or its layer cannot be had."""
        found = self._records.get(key)
        if found is None:
            return None
        layer = found.layer
        if layer.digest is None or found.descriptor is None or found.source is None:
            return layer
        with self._lock:  # one download per blob, even for parallel stages
            if lease.hold(layer.digest):
                return layer
            try:
                with found.source.blobs.open_blob(found.descriptor) as stream:
                    lease.ingest(stream, expected=layer.digest, size=layer.size)
            except DockyardError:
                return None
            self.fetched.append(layer.digest)
        return layer
