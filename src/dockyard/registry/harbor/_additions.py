"""What an artifact holds beyond its ``Artifact`` object, with the artifact's own permission
(``artifact`` ``read``): Harbor's additions (``build_history``, ``sbom``, ``vulnerabilities``)
and accessories, and the dockyard extensions the console's artifact page reads for what
Harbor has no endpoint for — the image's layers with the command that made each, a layer's
files or the filesystem the layers build (with wasted bytes), the SBOM's packages, and the
artifacts that refer to it with each signature's and attestation's verification state.

Blocking work runs in threads; images whose layers hold more than the console reads are
refused (412) rather than read."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from dockyard import __version__
from dockyard.digest import Digest
from dockyard.errors import DockyardError, FailedPrecondition, NotFound
from dockyard.registry import contents
from dockyard.registry._registry import Registry
from dockyard.registry.contents import policy_keys, worst_of
from dockyard.registry.harbor._artifacts import _resolve
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._models import NEVER, harbor_time
from dockyard.registry.harbor._promotion import _policy_json, promotions_of
from dockyard.registry.harbor._repositories import full_name
from dockyard.registry.metadata import ArtifactRow
from dockyard.registry.scanning import scan_all_of, scan_target
from dockyard.sign import PublicKey

__all__ = [
    "ADDITIONS",
    "MAX_CONFIG",
    "VULNERABILITY_REPORT",
    "accessories_of",
    "get_addition",
    "get_files",
    "get_layers",
    "get_packages",
    "get_referrers",
    "get_vulnerabilities",
    "list_accessories",
    "scan_overview",
    "vulnerability_report",
]

#: Harbor's addition names (``getAddition``'s enum); an image has build_history and sbom
ADDITIONS = (
    "build_history",
    "values.yaml",
    "readme.md",
    "dependencies",
    "sbom",
    "license",
    "files",
)
#: the MIME type Harbor keys vulnerability reports and scan overviews by
VULNERABILITY_REPORT = "application/vnd.security.vulnerability.report; version=1.1"
#: an image config's bytes read, at most (a real one is a few KB to a few hundred)
MAX_CONFIG = 4 << 20
#: a layer's number in ``…/files?layer=``: 1 to this
_MAX_LAYER_DIGITS = 4
#: Harbor's accessory types, by the artifact type (or the cosign tag suffix) that makes one
_ACCESSORY_TYPES = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "signature.cosign",
    "application/vnd.cncf.notary.signature": "signature.notation",
    "sig": "signature.cosign",
    "att": "attestation.cosign",
    "sbom": "sbom.cosign",
}
#: Harbor's spelling of a severity
_SEVERITY = {"CRITICAL": "Critical", "HIGH": "High", "MEDIUM": "Medium", "LOW": "Low",
             "UNKNOWN": "Unknown", "NONE": "None"}  # fmt: skip


async def _readable(call: Call) -> tuple[str, str, ArtifactRow]:
    """(project, repository, artifact) once the caller may read the path's artifact."""
    project, name = full_name(call)
    await call.require(project, "artifact", "read")
    return project, name, await _resolve(call, name)


def _image_config(registry: Registry, repository: str, digest: str) -> tuple[Any, Any]:
    """Blocking: the image's manifest and its config (NotFound for an index or an artifact
    without an image config: it has no layers of its own)."""
    manifest = json.loads(registry.manifest(repository, digest).content)
    config = manifest.get("config")
    if not isinstance(config, dict):
        raise NotFound(f"{repository}@{digest} is an index: open one of the images it lists")
    if int(config.get("size", 0)) > MAX_CONFIG:
        raise FailedPrecondition(f"{repository}@{digest} has a config of {config.get('size')} "
                                 f"bytes; at most {MAX_CONFIG:,} are read")  # fmt: skip
    raw = registry.verified_bytes(registry.blob(repository, Digest.parse(config["digest"])))
    try:
        return manifest, json.loads(raw)
    except ValueError:
        raise NotFound(f"{repository}@{digest} has a config that is not JSON: no image") from None


def build_history(registry: Registry, repository: str, digest: str) -> list[dict[str, Any]]:
    """Blocking: the config's ``history`` (Harbor's ``build_history`` addition)."""
    _, config = _image_config(registry, repository, digest)
    return [h for h in config.get("history") or () if isinstance(h, dict)]


def layers(registry: Registry, repository: str, digest: str) -> dict[str, Any]:
    """Blocking: the image's layers, each with the history step that made it, and its
    config."""
    manifest, config = _image_config(registry, repository, digest)
    steps = [h for h in config.get("history") or () if isinstance(h, dict)]
    made = [str(h.get("created_by", "")) for h in steps if not h.get("empty_layer")]
    out = []
    for i, layer in enumerate(manifest.get("layers") or ()):
        if not isinstance(layer, dict):
            continue
        out.append({"digest": str(layer.get("digest", "")), "size": int(layer.get("size", 0)),
                    "media_type": str(layer.get("mediaType", "")),
                    "created_by": made[i] if i < len(made) else ""})  # fmt: skip
    return {"layers": out, "config": config}


async def get_addition(call: Call) -> Reply:
    """Harbor's ``getAddition``: ``build_history`` (the config's history) and ``sbom`` (SPDX
    JSON; dockyard: ``format=cyclonedx`` for CycloneDX) for an image; 404 for the others,
    which Helm charts and models have."""
    addition = call.param("addition")
    if addition not in ADDITIONS:
        raise BadRequest(f"addition must be one of {', '.join(ADDITIONS)}, not {addition[:40]!r}")
    fmt = call.query("format") or "spdx"
    if fmt not in contents.SBOM_FORMATS:
        raise BadRequest(f"format must be one of {', '.join(contents.SBOM_FORMATS)}")
    _, name, row = await _readable(call)
    if addition == "build_history":
        return Reply(json=await call.run(build_history, call.registry, name, row.digest))
    if addition == "sbom":
        await call.run(_image_config, call.registry, name, row.digest)  # an image, or 404
        text = await call.run(contents.sbom, call.registry, name, row.digest, fmt)
        return Reply(json=json.loads(text))
    raise NotFound(f"{name}@{row.digest} has no {addition} addition (charts and models have)")


async def get_layers(call: Call) -> Reply:
    """dockyard extension: the image's layers with the command that made each, and its
    config."""
    _, name, row = await _readable(call)
    return Reply(json=await call.run(layers, call.registry, name, row.digest))


async def get_files(call: Call) -> Reply:
    """dockyard extension: directory ``path`` of layer ``layer`` (1-based) alone, or with
    ``view=merged`` of the filesystem the layers up to it build, paths several layers
    wrote marked ``wasted``."""
    raw = call.query("layer") or "1"
    if not (raw.isascii() and raw.isdigit() and 0 < len(raw) <= _MAX_LAYER_DIGITS):
        raise BadRequest(f"layer must be a layer's number (1, 2, …), not {raw[:20]!r}")
    view = call.query("view") or "layer"
    if view not in ("layer", "merged"):
        raise BadRequest(f"view must be layer or merged, not {view[:20]!r}")
    path = call.query("path") or ""
    if len(path) > 4096:
        raise BadRequest("path is longer than 4096 characters")
    _, name, row = await _readable(call)
    found = await call.run(lambda: contents.listing(call.registry, name, row.digest, int(raw) - 1,
                                                  merged=view == "merged", path=path))  # fmt: skip
    doc = asdict(found)
    doc["layer"] = found.layer + 1
    for item in doc["rows"]:
        item["layer"] = item["layer"] + 1 if item["layer"] >= 0 else None
    return Reply(json=doc)


async def get_packages(call: Call) -> Reply:
    """dockyard extension: the packages of the image's SBOM, sorted by name."""
    _, name, row = await _readable(call)
    await call.run(_image_config, call.registry, name, row.digest)
    rows = await call.run(contents.packages, call.registry, name, row.digest)
    items = [{"name": r.name, "version": r.version, "type": r.type,
              "licenses": list(r.licences)} for r in rows]  # fmt: skip
    return Reply(json=items, headers=[("X-Total-Count", str(len(items)))])


def _named_keys(call: Call, project: str) -> list[tuple[PublicKey, str]]:
    """Blocking: the keys the project's promotion policies name (none without promotion)."""

    access = call.api.access
    ref = access.projects.ref(project) if access is not None else None
    if ref is None:
        return []
    try:
        promotions = promotions_of(call)
        found = promotions.policies.of_project(ref[0], project)
    except DockyardError:
        return []
    return policy_keys([_policy_json(p) for p in found])


async def get_referrers(call: Call) -> Reply:
    """dockyard extension: the artifacts that refer to this one (OCI referrers, then
    cosign's ``.sig``/``.att``/``.sbom`` tags), each signature or in-toto attestation
    judged by content against the keys the registry trusts for the repository and those
    the project's promotion policies name."""
    project, name, row = await _readable(call)
    named = await call.run(_named_keys, call, project)
    found = await call.run(contents.referrers, call.registry, name, row.digest, named)
    items = [
        {"digest": r.digest, "media_type": r.media_type, "artifact_type": r.artifact_type,
         "size": r.size, "how": r.how, "kind": _kind(r.how, r.artifact_type),
         "signatures": [{"digest": d, "kind": k, "state": v.state, "detail": v.detail}
                        for d, v, k in zip(r.signatures, r.verdicts, r.kinds, strict=True)]}
        for r in found
    ]  # fmt: skip
    return Reply(json=items, headers=[("X-Total-Count", str(len(items)))])


def _kind(how: str, artifact_type: str) -> str:
    """Harbor's accessory type for a referrer (``subject.accessory`` when it has no
    better)."""
    if how.startswith("tag "):
        return _ACCESSORY_TYPES.get(how.rsplit(".", 1)[-1], "subject.accessory")
    if "in-toto" in artifact_type or "attestation" in artifact_type:
        return "attestation.cosign"
    return _ACCESSORY_TYPES.get(artifact_type, "subject.accessory")


def accessories_of(registry: Registry, repository: str, row: ArtifactRow) -> list[dict[str, Any]]:
    """Blocking: Harbor's ``Accessory`` objects of ``row`` (what refers to it: OCI referrers
    and cosign's tags)."""
    subject = Digest.parse(row.digest)
    out: list[dict[str, Any]] = []
    index = json.loads(registry.referrers(repository, subject, None))
    seen = set()
    for d in index.get("manifests") or ():
        digest = str(d.get("digest", ""))
        seen.add(digest)
        out.append(_accessory(row, repository, digest, int(d.get("size", 0)),
                              _kind("referrer", str(d.get("artifactType", "")))))  # fmt: skip
    for suffix in ("sig", "att", "sbom"):
        try:
            record = registry.manifest(repository, f"{subject.algorithm}-{subject.hex}.{suffix}")
        except NotFound:
            continue
        if record.digest not in seen:
            seen.add(record.digest)
            out.append(_accessory(row, repository, record.digest, len(record.content),
                                  _ACCESSORY_TYPES[suffix]))  # fmt: skip
    return out


def _accessory(row: ArtifactRow, repository: str, digest: str, size: int, kind: str
               ) -> dict[str, Any]:  # fmt: skip
    return {"id": 0, "artifact_id": 0, "subject_artifact_id": row.id,
            "subject_artifact_repo": repository, "subject_artifact_digest": row.digest,
            "digest": digest, "size": size, "icon": "", "type": kind,
            "creation_time": NEVER}  # fmt: skip


async def list_accessories(call: Call) -> Reply:
    """Harbor's ``listAccessories``: what refers to the artifact (signatures, attestations,
    SBOMs)."""
    page = call.page()
    _, name, row = await _readable(call)
    items = await call.run(accessories_of, call.registry, name, row)
    return call.paged(items[page.offset : page.offset + page.size], len(items), page)


def scan_overview(registry: Registry, repository: str, digest: str) -> dict[str, Any] | None:
    """Blocking: Harbor's ``scan_overview`` of an image (its report's worst severity), None
    when the registry does not scan or it is not an image; an image not yet scanned has an
    overview with ``scan_status`` ``Pending`` and no severity."""
    scanning = scan_all_of(registry)
    if scanning is None:
        return None
    worst = worst_of(scanning, registry, repository, digest)
    if worst is None:
        return None
    if worst == "UNSCANNED":
        return {VULNERABILITY_REPORT: {"scan_status": "Pending"}}
    return {VULNERABILITY_REPORT: {"scan_status": "Success",
                                   "severity": _SEVERITY.get(worst, "Unknown")}}  # fmt: skip


def vulnerability_report(registry: Registry, repository: str, digest: str) -> dict[str, Any]:
    """Blocking: Harbor's vulnerability report of image ``digest`` (no vulnerabilities while
    its scan is pending: asking queues the scan of an image never scanned, as
    ``/v2/<name>/_dockyard/scan/<ref>`` does)."""

    scanning = scan_all_of(registry)
    if scanning is None:
        raise PreconditionFailed(
            "this registry does not scan images",
            hint="add a scanning: section to the registry's config",
        )
    target = scan_target(registry.manifest(repository, digest))
    if target is None or target.is_index:
        raise NotFound(f"{repository}@{digest} is not an image: only images have reports")
    scanning.scanner.queue(repository, digest)
    scan = scanning.scanner.records.get(digest)
    report = scan.report if scan is not None else None
    rows = []
    worst = len(_ORDER) - 1 if report is not None else None
    for r in (report or {}).get("Results") or ():
        level = str(r.get("Severity", "")).upper()
        if level in _ORDER and worst is not None:
            worst = min(worst, _ORDER.index(level))
        rows.append({"id": str(r.get("VulnerabilityID", "")),
                     "package": str(r.get("PkgName", "")),
                     "version": str(r.get("InstalledVersion", "")),
                     "fix_version": str(r.get("FixedVersion", "")),
                     "severity": _SEVERITY.get(level, "Unknown"),
                     "description": str(r.get("Title") or "")[:300],
                     "links": [str(x)[:2000] for x in (r.get("References") or ())[:_LINKS]
                               if isinstance(x, str)]})  # fmt: skip
    found: dict[str, Any] = {
        "scanner": {"name": "dockyard", "vendor": "dockyard", "version": __version__},
        "scan_status": _STATUS.get(scan.status if scan is not None else "", "Pending"),
        "vulnerabilities": rows,
    }
    if worst is not None:
        found["severity"] = _SEVERITY[_ORDER[worst]]
    if report is not None and scan is not None and scan.finished_at is not None:  # when made
        found["generated_at"] = harbor_time(scan.finished_at)
    return {VULNERABILITY_REPORT: found}


#: Harbor's scan statuses, by the scanner's
_STATUS = {"done": "Success", "failed": "Error", "pending": "Pending", "stopped": "Stopped"}
#: severities, worst first
_ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "NONE")
#: references kept per finding (an advisory may list dozens)
_LINKS = 3


async def get_vulnerabilities(call: Call) -> Reply:
    """Harbor's ``getVulnerabilitiesAddition``: the image's report (the scanner's findings:
    ID, package, installed and fixed versions, severity, title as description, up to 3
    references), keyed by the report's MIME type; ``generated_at``: when the scan finished."""
    _, name, row = await _readable(call)
    return Reply(json=await call.run(vulnerability_report, call.registry, name, row.digest))
