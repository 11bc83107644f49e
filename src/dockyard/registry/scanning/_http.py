"""``/v2/<name>/_dockyard/scan/<reference>``: a pushed image's scan report.

``GET`` answers the report document (``status`` pending, done or failed; for an index, one
entry per image it lists); ``POST`` scans again (after importing fresher advisories).
The path follows the distribution spec's extension form ``/v2/<name>/_<ext>/…``: repository
names cannot contain a ``_``-prefixed component, so it never collides with a repository, and
it sits behind the same authentication as the rest of ``/v2/``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from dockyard import __version__
from dockyard.errors import ManifestUnknown, NotFound
from dockyard.registry._names import parse_reference
from dockyard.registry._registry import Registry
from dockyard.registry.http import Request
from dockyard.registry.http._io import MethodNotAllowed, send_bytes
from dockyard.registry.scanning._config import ScanningConfig
from dockyard.registry.scanning._images import scan_target
from dockyard.registry.scanning._policy import ScanEnforcement, blocking_findings
from dockyard.registry.scanning._records import DONE, FAILED, PENDING, STOPPED
from dockyard.registry.scanning._scanner import Scanner

__all__ = ["ScanReports"]


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class ScanReports:
    """The extension handler (``RegistryApp(extensions={"dockyard": …})``)."""

    def __init__(
        self, config: ScanningConfig, scanner: Scanner, policy: ScanEnforcement | None
    ) -> None:
        self.config = config
        self.scanner = scanner
        self.policy = policy

    async def __call__(self, request: Request, registry: Registry, name: str, rest: str) -> None:
        if not rest.startswith("scan/") or "/" in rest[5:]:
            raise NotFound(f"no such endpoint {request.path}; try /v2/{name}/_dockyard/scan/<tag>")
        reference = parse_reference(rest[5:])
        if request.method not in ("GET", "HEAD", "POST"):
            raise MethodNotAllowed(f"{request.method} is not allowed on {request.path}")
        again = request.method == "POST"
        doc = await request.run(self.document, registry, name, reference, again)
        body = json.dumps(doc, indent=2).encode() + b"\n"
        status = 202 if again else 200
        await send_bytes(
            request.send,
            status,
            body,
            content_type=b"application/json",
            head=request.method == "HEAD",
        )

    def document(
        self, registry: Registry, repository: str, reference: str, again: bool = False
    ) -> dict[str, Any]:
        record = registry.manifest(repository, reference)
        target = scan_target(record)
        if target is None:
            raise ManifestUnknown(
                f"{repository}:{reference} is not an image or an index of images; only images "
                "are scanned"
            )
        images = []
        for digest, platform in target.images:
            self.scanner.queue(repository, digest, again=again)
            entry = self._image(digest)
            if target.is_index:
                entry["platform"] = None if platform is None else str(platform)
            images.append(entry)
        if not target.is_index:
            return images[0]
        statuses = {e["status"] for e in images}
        status = next((s for s in (FAILED, PENDING, STOPPED) if s in statuses), DONE)
        return {
            "digest": record.digest,
            "mediaType": record.media_type,
            "status": status,
            "blocked": any(e.get("policy", {}).get("blocked") for e in images),
            "manifests": images,
        }

    def _image(self, digest: str) -> dict[str, Any]:
        scan = self.scanner.records.get(digest)
        if scan is None:  # deleted meanwhile; queue() made it pending
            return {"digest": digest, "status": PENDING}
        doc: dict[str, Any] = {
            "digest": digest,
            "status": scan.status,
            "queuedAt": _when(scan.queued_at),
            "finishedAt": _when(scan.finished_at),
            "scanner": {"name": "dockyard", "version": __version__},
        }
        if scan.error:
            doc["error"] = scan.error
        if scan.db_updated_at is not None:
            doc["database"] = {
                "updatedAt": _when(scan.db_updated_at),
                "ageSeconds": int(time.time() - scan.db_updated_at),
                "advisories": scan.db_advisories,
            }
        if self.config.blocking:
            policy: dict[str, Any] = {"blockSeverity": self.config.block_severity}
            if scan.status == DONE and scan.report is not None:
                found = (
                    self.policy.blocking(scan)
                    if self.policy is not None
                    else blocking_findings(scan.report, self.config)
                )
                policy["blocked"] = bool(found)
                policy["blocking"] = [b.to_json() for b in found]
            else:
                policy["blocked"] = self.config.block_unscanned
            doc["policy"] = policy
        if scan.report is not None:
            doc["summary"] = scan.report.get("Summary")
            doc["report"] = scan.report
        return doc
