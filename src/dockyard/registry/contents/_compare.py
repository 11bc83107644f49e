"""Comparing two images of a repository (blocking: run it in a thread): layers added,
removed and shared; files added, removed and changed (``dockyard.analyze.diff_images``, as
``dockyard diff``); packages added, removed and changed (the scanner's catalogue); and, when
both have scan reports, the vulnerabilities fixed and introduced.

Bounded: images whose layers hold more than :data:`MAX_BYTES` compressed bytes together, or
more than :data:`MAX_FILES` files together, are refused with a message that says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dockyard.analyze import ConfigChange, FileChange, ImageDiff, diff_images
from dockyard.digest import Digest
from dockyard.errors import FailedPrecondition, InvalidArgument, Unsupported
from dockyard.image.blob import BlobImage, open_any
from dockyard.oci import Descriptor
from dockyard.registry._registry import Registry
from dockyard.registry.scanning import RegistryBlobs
from dockyard.scan import ScanBudget, catalog_source, image_source

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "Comparison",
    "LayerRow",
    "PackageChange",
    "TooBig",
    "VulnChange",
    "compare",
    "compare_images",
    "comparison_from_json",
    "comparison_json",
]

MAX_BYTES = 512 << 20
MAX_FILES = 100_000


class TooBig(FailedPrecondition):
    """The images are past what the console compares."""


@dataclass(frozen=True, slots=True)
class LayerRow:
    digest: str
    size: int
    command: str
    status: str  # "shared", "removed" (only in a), "added" (only in b)


@dataclass(frozen=True, slots=True)
class PackageChange:
    type: str
    name: str
    old: str  # "" when added
    new: str  # "" when removed

    @property
    def status(self) -> str:
        return "added" if not self.old else "removed" if not self.new else "changed"


@dataclass(frozen=True, slots=True)
class VulnChange:
    id: str
    severity: str
    package: str
    version: str
    status: str  # "fixed" (in a only) or "introduced" (in b only)


@dataclass(slots=True)
class Comparison:
    layers: list[LayerRow]
    #: the files (``diff.files``) and their totals (``diff.totals()``)
    diff: ImageDiff
    packages: list[PackageChange]
    #: None when either image has no finished scan report
    vulnerabilities: list[VulnChange] | None
    notes: list[str] = field(default_factory=list)


def _image(registry: Registry, repository: str, digest: str) -> BlobImage:
    record = registry.manifest(repository, digest)
    source = RegistryBlobs(registry, repository)
    desc = Descriptor(record.media_type, Digest.parse(record.digest), len(record.content))
    opened = open_any(source, desc)
    if not isinstance(opened, BlobImage):
        raise Unsupported(
            f"{digest} is an index of several images: compare two of its images by digest "
            "(open the artifact to see them)"
        )
    return opened


def _commands(image: BlobImage) -> list[str]:
    history = image.config().data.get("history") or ()
    return [
        str(h.get("created_by", ""))
        for h in history
        if isinstance(h, dict) and not h.get("empty_layer")
    ]


def _layers(a: BlobImage, b: BlobImage) -> list[LayerRow]:
    in_a = {str(x.descriptor.digest) for x in a.layers()}
    in_b = {str(x.descriptor.digest) for x in b.layers()}
    rows = []
    for image, commands, other, status in ((a, _commands(a), in_b, "removed"),
                                           (b, _commands(b), in_a, "added")):  # fmt: skip
        for i, layer in enumerate(image.layers()):
            digest = str(layer.descriptor.digest)
            if digest in other:
                if status == "removed":
                    continue  # listed once, from b
                mark = "shared"
            else:
                mark = status
            command = commands[i] if i < len(commands) else ""
            rows.append(LayerRow(digest, layer.descriptor.size, command, mark))
    return rows


def _packages(image: BlobImage, name: str) -> dict[tuple[str, str], str]:
    with image_source("registry", name, image) as source:
        inventory = catalog_source(source, budget=ScanBudget(layer_bytes=MAX_BYTES))
    return {(p.type, p.name): p.version for p in inventory.packages}


def _package_changes(a: BlobImage, b: BlobImage, name: str) -> list[PackageChange]:
    old, new = _packages(a, name), _packages(b, name)
    changes = [
        PackageChange(kind, pkg, old.get((kind, pkg), ""), new.get((kind, pkg), ""))
        for kind, pkg in sorted(old.keys() | new.keys())
        if old.get((kind, pkg)) != new.get((kind, pkg))
    ]
    return changes


def _findings(reports: Any, digest: str) -> set[tuple[str, str, str, str]] | None:
    record = reports.scanner.records.get(digest)
    if record is None or record.report is None:
        return None
    return {
        (str(r.get("VulnerabilityID", "")), str(r.get("Severity", "")),
         str(r.get("PkgName", "")), str(r.get("InstalledVersion", "")))
        for r in record.report.get("Results") or ()
    }  # fmt: skip


def _vulnerabilities(reports: Any, a: str, b: str) -> list[VulnChange] | None:
    old, new = _findings(reports, a), _findings(reports, b)
    if old is None or new is None:
        return None
    old_ids = {(v[0], v[2]) for v in old}
    new_ids = {(v[0], v[2]) for v in new}
    out = [VulnChange(*v, status="fixed") for v in sorted(old) if (v[0], v[2]) not in new_ids]
    out += [VulnChange(*v, status="introduced") for v in sorted(new) if (v[0], v[2]) not in old_ids]
    return out


def compare(
    registry: Registry, repository: str, digest_a: str, digest_b: str, reports: Any = None
) -> Comparison:
    """How image ``digest_b`` differs from ``digest_a`` in ``repository``."""
    a, b = _image(registry, repository, digest_a), _image(registry, repository, digest_b)
    vulns = None if reports is None else _vulnerabilities(reports, digest_a, digest_b)
    return compare_images(a, b, digest_a, digest_b, name=repository, vulnerabilities=vulns)


def compare_images(
    a: BlobImage,
    b: BlobImage,
    name_a: str,
    name_b: str,
    *,
    name: str,
    vulnerabilities: list[VulnChange] | None = None,
) -> Comparison:
    """How image ``b`` differs from ``a``, from any blob source (the registry's, the local
    store's); ``name``: what the package catalogue calls the images."""
    total = sum(x.descriptor.size for x in a.layers()) + sum(x.descriptor.size for x in b.layers())
    if total > MAX_BYTES:
        raise TooBig(
            f"these images' layers hold {total:,} bytes together; the console compares at most "
            f"{MAX_BYTES:,} bytes: compare them with `dockyard diff` on your machine instead"
        )
    try:
        diff = diff_images(a, b, name_a, name_b)
    except (ValueError, EOFError):  # how the tar reader says a blob is no tar
        raise InvalidArgument(
            "a layer of these images is not a tar archive: they hold no files to compare"
        ) from None
    files = len(diff.files)
    if files > MAX_FILES:
        raise TooBig(
            f"these images differ in {files:,} files; the console shows at most {MAX_FILES:,}: "
            "compare them with `dockyard diff` on your machine instead"
        )
    return Comparison(
        layers=_layers(a, b),
        diff=diff,
        packages=_package_changes(a, b, name),
        vulnerabilities=vulnerabilities,
    )


def comparison_json(result: Comparison) -> dict[str, Any]:
    """``result`` as ``GET …/artifacts/{reference}/compare`` answers it: ``diff`` is what
    ``dockyard diff --format json`` writes."""
    return {
        "layers": [{"digest": x.digest, "size": x.size, "created_by": x.command,
                    "status": x.status} for x in result.layers],
        "diff": result.diff.to_json(),
        "packages": [{"type": p.type, "name": p.name, "old_version": p.old,
                      "new_version": p.new, "status": p.status} for p in result.packages],
        "vulnerabilities": None if result.vulnerabilities is None else [
            {"id": v.id, "severity": v.severity, "package": v.package, "version": v.version,
             "status": v.status} for v in result.vulnerabilities],
        "notes": list(result.notes),
    }  # fmt: skip


def comparison_from_json(doc: Any) -> Comparison:
    """The :class:`Comparison` :func:`comparison_json` wrote (what the console renders from
    the API's answer); InvalidArgument when ``doc`` is not one."""
    try:
        diff_doc = doc["diff"]
        diff = ImageDiff(
            str(diff_doc["image1"]), str(diff_doc["image2"]),
            int(diff_doc["layers"]["image1"]), int(diff_doc["layers"]["image2"]),
            int(diff_doc["layers"]["shared"]),
            [ConfigChange(str(c["key"]), c["old"], c["new"]) for c in diff_doc["config"]],
            [FileChange(str(f["path"]), str(f["status"]), str(f["kind"]), f["oldSize"],
                        f["newSize"], str(f["what"])) for f in diff_doc["files"]],
        )  # fmt: skip
        vulns = doc["vulnerabilities"]
        return Comparison(
            layers=[LayerRow(str(x["digest"]), int(x["size"]), str(x["created_by"]),
                             str(x["status"])) for x in doc["layers"]],
            diff=diff,
            packages=[PackageChange(str(p["type"]), str(p["name"]), str(p["old_version"]),
                                    str(p["new_version"])) for p in doc["packages"]],
            vulnerabilities=None if vulns is None else [
                VulnChange(str(v["id"]), str(v["severity"]), str(v["package"]),
                           str(v["version"]), str(v["status"])) for v in vulns],
            notes=[str(n) for n in doc.get("notes") or ()],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"not a comparison: {exc}") from None
