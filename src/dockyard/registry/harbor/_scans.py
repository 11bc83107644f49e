"""Harbor's scan of one artifact: ``POST …/artifacts/{reference}/scan`` (scan an image, or an
index's images, again now) and ``POST …/scan/stop`` (stop its queued or running scans), with
the project's ``scan`` permission (``create``, ``stop``). Scans run on the registry's leased
queue (:mod:`dockyard.registry.scanning`); each answer is 202 Accepted, as Harbor's. A stopped
scan's report is ``Stopped`` (a process running it drops the result and kills its worker);
412 when the registry has no ``scanning:`` section. Stopping a scan-all run is
:mod:`._scanall`'s."""

from __future__ import annotations

from dockyard.registry.harbor._artifacts import _resolve
from dockyard.registry.harbor._call import Call, Reply
from dockyard.registry.harbor._errors import BadRequest, PreconditionFailed
from dockyard.registry.harbor._models import DEFINITIONS
from dockyard.registry.harbor._repositories import full_name
from dockyard.registry.scanning import ScanAll, scan_all_of, scan_target

__all__ = ["scan_artifact", "stop_scan_artifact"]

#: Harbor's scan types; it falls back to a vulnerability scan for any other value
VULNERABILITY, SBOM = "vulnerability", "sbom"


async def _images(call: Call, action: str) -> tuple[ScanAll, str, list[str]]:
    """(scanning, repository, the digests of the images to act on) for the path's artifact,
    once the caller may ``action`` its project's scans."""
    project, name = full_name(call)
    await call.require(project, "scan", action)
    scanning = scan_all_of(call.registry)
    if scanning is None:
        raise PreconditionFailed(
            "this registry does not scan images",
            hint="add a scanning: section to the registry's config",
        )
    await _scan_type(call)
    row = await _resolve(call, name)
    target = scan_target(await call.run(call.registry.manifest, name, row.digest))
    if target is None:
        raise BadRequest(
            f"{name}@{row.digest} is not an image or an index of images: only images are scanned"
        )
    return scanning, name, [digest for digest, _ in target.images]


async def _scan_type(call: Call) -> None:
    """Harbor's optional ``ScanType`` body: a vulnerability scan (any other value but sbom is
    taken as one, as Harbor does); an SBOM is not a scan here."""
    body = await call.json_body(optional=True)
    if body.get("scan_type") == SBOM:
        raise BadRequest(
            "scan_type sbom: this registry makes an image's SBOM when it is asked for",
            hint="GET …/artifacts/{reference}/additions/sbom",
        )


async def scan_artifact(call: Call) -> Reply:
    """Scan the artifact's images again now (queued; a scan already queued or running is
    left as it is)."""
    scanning, name, digests = await _images(call, "create")
    for digest in digests:
        await call.run(scanning.scanner.queue, name, digest, again=True)
    return Reply(202)


async def stop_scan_artifact(call: Call) -> Reply:
    """Stop the artifact's queued or running scans (400 when it was never scanned)."""
    scanning, name, digests = await _images(call, "stop")
    if await call.run(scanning.scanner.stop, digests) is None:
        raise BadRequest(
            f"no scan job for artifact digest={digests[0] if len(digests) == 1 else name}",
            hint="scan it first: POST …/artifacts/{reference}/scan",
        )
    return Reply(202)


#: Harbor's definition of the optional body
DEFINITIONS["ScanType"] = {
    "type": "object",
    "properties": {
        "scan_type": {
            "type": "string",
            "description": "The scan type for the scan request. Two options are currently "
            "supported, vulnerability and sbom",
            "enum": [VULNERABILITY, SBOM],
        }
    },
}
