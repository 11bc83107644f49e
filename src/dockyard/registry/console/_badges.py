"""The repository page's per-artifact badges: signed (a signature accessory refers to it)
and its scan's worst severity, from the API's artifact listing (``with_accessory``,
``with_scan_overview``); and the platforms an image runs on, which a single image's config
says (one blob of at most :data:`MAX_CONFIG` bytes, read only for the artifacts of the page
the API has already listed to the user). Blocking: run in a thread."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry

__all__ = ["MAX_CONFIG", "Badges", "badges", "platform_text"]

MAX_CONFIG = 1 << 20
#: the artifact types of signature referrers (cosign's, Notation's)
SIGNATURE_TYPES = frozenset({
    "application/vnd.dev.cosign.artifact.sig.v1+json",
    "application/vnd.cncf.notary.signature",
})  # fmt: skip


@dataclass(frozen=True, slots=True)
class Badges:
    """``platforms``: "linux/amd64, linux/arm64/v8" (empty: not an image, or unknown);
    ``scan``: the worst severity of its report ("NONE": no findings, "UNSCANNED": no report
    yet), or None when the registry does not scan or it is not an image."""

    platforms: str
    signed: bool
    scan: str | None


def platform_text(platform: object) -> str:
    if not isinstance(platform, dict):
        return ""
    parts = [str(platform.get(k) or "") for k in ("os", "architecture", "variant")]
    return "/".join(p for p in parts if p)


def _platforms(registry: Registry, repository: str, artifact: dict[str, Any]) -> str:
    refs = artifact.get("references")
    if isinstance(refs, list):
        found = [platform_text(r.get("platform")) for r in refs if isinstance(r, dict)]
        return ", ".join(dict.fromkeys(p for p in found if p))
    try:
        manifest = json.loads(registry.manifest(repository, str(artifact["digest"])).content)
        config = manifest.get("config")
        if not isinstance(config, dict) or int(config.get("size", 0)) > MAX_CONFIG:
            return ""
        blob = registry.blob(repository, Digest.parse(str(config.get("digest", ""))))
        return platform_text(json.loads(registry.verified_bytes(blob)))
    except (DockyardError, ValueError, TypeError, KeyError):
        return ""


def badges(
    registry: Registry, repository: str, artifacts: Sequence[dict[str, Any]]
) -> dict[str, Badges]:
    """Each artifact's badges from the API's listing with ``with_accessory`` and
    ``with_scan_overview``: signed when a signature accessory refers to it, the scan's worst
    severity from its ``scan_overview``. Only the platforms of a single image read its
    config here."""
    out = {}
    for artifact in artifacts:
        digest = str(artifact.get("digest", ""))
        signed = any(
            isinstance(a, dict) and str(a.get("type", "")).startswith("signature.")
            for a in artifact.get("accessories") or ()
        )
        out[digest] = Badges(_platforms(registry, repository, artifact), signed,
                             _scan(artifact.get("scan_overview")))  # fmt: skip
    return out


def _scan(overview: object) -> str | None:
    """The worst severity a ``scan_overview`` holds ("UNSCANNED" while pending), None
    without one (the registry does not scan, or it is not an image)."""
    if not isinstance(overview, dict) or not overview:
        return None
    summary = next(iter(overview.values()))
    if not isinstance(summary, dict) or summary.get("scan_status") != "Success":
        return "UNSCANNED"
    return str(summary.get("severity") or "UNKNOWN").upper()
