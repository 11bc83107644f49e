"""What ``dockyard ui``'s pages show, read from the local store (the images ``dockyard
images`` lists): the image list with search and sort, one image's layers with the command that
made each, a layer's files (the console's file browser), and two images compared (the
console's comparison), an image's vulnerabilities, its packages and its SBOM (as ``dockyard
sbom`` writes it), and deleting one as ``dockyard rmi`` does. Blocking."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dockyard.analyze import open_image
from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.image.blob import BlobImage
from dockyard.imageservice import ImageSummary, find_image, remove_image, summaries
from dockyard.local import LocalStore
from dockyard.registry.console.shared import (
    MAX_BYTES,
    SBOM_FORMATS,
    Comparison,
    Listing,
    PackageRow,
    bounded,
    compare_images,
    image_listing,
    image_packages,
    image_sbom,
)
from dockyard.scan import (
    SEVERITIES,
    Report,
    ScanBudget,
    VulnDB,
    catalog_source,
    image_source,
    match_inventory,
)

__all__ = [
    "SORTS",
    "ImageDetail",
    "ImageRow",
    "Step",
    "Vulnerability",
    "compare",
    "delete",
    "has_vulndb",
    "image_detail",
    "image_rows",
    "listing",
    "packages",
    "sbom",
    "vulnerabilities",
]

#: the image list's sort keys → what the column is called
SORTS = {"created": "Created", "size": "Size", "name": "Name"}


@dataclass(frozen=True, slots=True)
class ImageRow:
    """One image of the store: ``id`` as ``dockyard images`` prints it (the config digest,
    or the index digest of a multi-platform image); ``names``: its tags, none when
    dangling."""

    id: str
    names: tuple[str, ...]
    created: datetime | None
    size: int
    labels: tuple[tuple[str, str], ...]

    @property
    def short_id(self) -> str:
        return self.id.split(":", 1)[-1][:12]

    @property
    def name(self) -> str:
        return self.names[0] if self.names else "<none>"


@dataclass(frozen=True, slots=True)
class Step:
    """A line of the image's history: the instruction, and its layer when it made one
    (``layer``: 0-based; None for ENV, LABEL, CMD and the like)."""

    command: str
    created: str
    layer: int | None
    size: int
    digest: str


@dataclass(frozen=True, slots=True)
class ImageDetail:
    row: ImageRow
    manifest_digest: str
    platform: str
    settings: tuple[tuple[str, str], ...]
    steps: tuple[Step, ...]
    layers: int


def _row(summary: ImageSummary) -> ImageRow:
    return ImageRow(
        id=str(summary.id),
        names=tuple(t.familiar for t in summary.tags),
        created=summary.created,
        size=summary.size,
        labels=tuple(sorted(summary.labels.items())),
    )


def image_rows(
    store: LocalStore, *, search: str = "", sort: str = "created", descending: bool = True
) -> list[ImageRow]:
    """The store's images whose name, ID or a label holds ``search`` (case-insensitive),
    sorted by ``sort`` (a key of :data:`SORTS`)."""
    if sort not in SORTS:
        raise InvalidArgument(f"sort by one of {', '.join(SORTS)}, not {sort!r}")
    rows = [_row(s) for s in summaries(store)]
    needle = search.strip().lower()
    if needle:
        rows = [
            r
            for r in rows
            if any(needle in n.lower() for n in r.names)
            or needle in r.id.lower()
            or any(needle in f"{k}={v}".lower() for k, v in r.labels)
        ]
    if sort == "created":
        rows.sort(key=lambda r: r.created.timestamp() if r.created else 0.0, reverse=descending)
    elif sort == "size":
        rows.sort(key=lambda r: r.size, reverse=descending)
    else:
        rows.sort(key=lambda r: (r.name == "<none>", r.name, r.id), reverse=descending)
    return rows


def _open(store: LocalStore, ident: str) -> tuple[ImageSummary, BlobImage]:
    """The image ``ident`` (an ID, a prefix of one, or a name) names; of a multi-platform
    image, this machine's platform."""
    if not ident.strip():
        raise InvalidArgument("name an image: ?id=<image ID or name>")
    summary = find_image(ident, summaries(store))
    return summary, open_image(store, str(summary.id))


def _steps(image: BlobImage) -> list[Step]:
    config = image.config()
    layers = image.layers()
    steps: list[Step] = []
    index = 0
    for entry in config.history:
        layer: int | None = None
        size, digest = 0, ""
        if not entry.empty_layer and index < len(layers):
            layer, size = index, layers[index].descriptor.size
            digest = str(layers[index].descriptor.digest)
            index += 1
        steps.append(Step(entry.created_by or "", entry.created or "", layer, size, digest))
    for rest in range(index, len(layers)):  # layers the history does not tell of
        d = layers[rest].descriptor
        steps.append(Step("", "", rest, d.size, str(d.digest)))
    return steps


def _settings(image: BlobImage) -> list[tuple[str, str]]:
    run = image.config().config
    out = []
    for key in ("Entrypoint", "Cmd", "WorkingDir", "User", "ExposedPorts", "StopSignal"):
        value = run.get(key)
        if value:
            shown = " ".join(map(str, value)) if isinstance(value, list) else value
            out.append((key, ", ".join(sorted(shown)) if isinstance(shown, dict) else str(shown)))
    return out


def image_detail(store: LocalStore, ident: str) -> ImageDetail:
    summary, image = _open(store, ident)
    config = image.config()
    platform = "/".join(p for p in (config.os, config.architecture, config.variant) if p)
    return ImageDetail(
        row=_row(summary),
        manifest_digest=str(image.descriptor().digest),
        platform=platform,
        settings=tuple(_settings(image)),
        steps=tuple(_steps(image)),
        layers=len(image.layers()),
    )


def listing(store: LocalStore, ident: str, layer: int, *, merged: bool, path: str) -> Listing:
    """Directory ``path`` of layer ``layer`` (0-based) alone, or (``merged``) of the
    filesystem the layers up to it build, with the wasted bytes."""
    _, image = _open(store, ident)
    return image_listing(bounded(image), layer, merged=merged, path=path)


def compare(store: LocalStore, a: str, b: str) -> Comparison:
    """How image ``b`` differs from image ``a`` (layers, files, packages)."""
    (first, one), (second, other) = _open(store, a), _open(store, b)
    return compare_images(one, other, _row(first).name, _row(second).name, name="local")


def packages(store: LocalStore, ident: str) -> list[PackageRow]:
    """The packages the image holds (those its SBOM lists), sorted by name."""
    summary, image = _open(store, ident)
    return image_packages(bounded(image), "image", _row(summary).name)


def sbom(store: LocalStore, ident: str, fmt: str) -> tuple[str, str]:
    """The image's SBOM in ``fmt`` (``spdx`` or ``cyclonedx``, JSON) and a file name for it."""
    if fmt not in SBOM_FORMATS:
        raise InvalidArgument(f"the SBOM format must be one of {', '.join(SBOM_FORMATS)}")
    summary, image = _open(store, ident)
    row = _row(summary)
    text = image_sbom(bounded(image), "image", row.name, fmt)
    return text, f"{row.short_id}.{SBOM_FORMATS[fmt][1]}"


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    severity: str
    package: str
    installed: str
    fixed: str
    title: str
    links: tuple[str, ...]


def _vulndb_path(store: LocalStore) -> Path:
    return store.root / "vulndb" / "vulndb.sqlite"


def has_vulndb(store: LocalStore) -> bool:
    """Whether the store holds an imported vulnerability database (``dockyard db``)."""
    return _vulndb_path(store).is_file()


def vulnerabilities(store: LocalStore, ident: str) -> list[Vulnerability]:
    """The image's vulnerabilities as ``dockyard scan`` reports them, from the store's
    database (no network), most severe first."""
    if not has_vulndb(store):
        raise FailedPrecondition(
            "this store has no vulnerability database: run `dockyard db update` "
            "(or `dockyard db import DIR`), then open this page again"
        )
    summary, image = _open(store, ident)
    with image_source("image", _row(summary).name, bounded(image)) as source:
        inventory = catalog_source(source, budget=ScanBudget(layer_bytes=MAX_BYTES))
    db = VulnDB.in_store(store.root)
    try:
        findings = match_inventory(db, inventory.packages, inventory.distro)
    finally:
        db.close()
    report = Report(inventory, findings)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    rows = [
        Vulnerability(
            id=str(f["VulnerabilityID"]),
            severity=str(f["Severity"]),
            package=str(f["PkgName"]),
            installed=str(f["InstalledVersion"]),
            fixed=str(f["FixedVersion"] or ""),
            title=str(f["Title"] or ""),
            links=tuple(str(r) for r in f["References"] or ()),
        )
        for f in report.to_json()["Results"]
    ]
    rows.sort(key=lambda v: (-order.get(v.severity, 0), v.package, v.id))
    return rows


def delete(store: LocalStore, ident: str) -> str:
    """Remove image ``ident`` (its ID) as ``dockyard rmi ID`` does — refused when other images
    are built on it or its tags span several repositories — then collect its unused blobs;
    the short ID of what went."""
    summary, _ = _open(store, ident)
    remove_image(store, str(summary.id))
    store.gc()
    return _row(summary).short_id
