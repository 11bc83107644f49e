"""The repository page's per-artifact facts beyond what the artifact list answers: the
platforms an image runs on, whether it is signed, and its scan's worst severity. Blocking
(run in a thread), and only for the artifacts of the page the API has already listed to the
user: each costs a few metadata reads and, for a single image, one config blob (at most
:data:`MAX_CONFIG` bytes)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.digest import Digest
from dockyard.errors import DockyardError
from dockyard.registry._registry import Registry
from dockyard.registry.console._dashboard import worst_of

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


def _signed(registry: Registry, repository: str, digest: str) -> bool:
    subject = Digest.parse(digest)
    try:
        registry.manifest(repository, f"{subject.algorithm}-{subject.hex}.sig")
        return True
    except DockyardError:
        pass
    try:
        index = json.loads(registry.referrers(repository, subject, None))
    except (DockyardError, ValueError):
        return False
    return any(
        isinstance(m, dict) and m.get("artifactType") in SIGNATURE_TYPES
        for m in index.get("manifests") or ()
    )


def badges(
    registry: Registry, repository: str, artifacts: Sequence[dict[str, Any]], reports: Any
) -> dict[str, Badges]:
    """Each listed artifact's badges, by digest. ``reports``: the registry's scan reports
    (None: it does not scan)."""
    out = {}
    for artifact in artifacts:
        digest = str(artifact.get("digest", ""))
        try:
            signed = _signed(registry, repository, digest)
        except DockyardError:
            signed = False
        scan = worst_of(reports, registry, repository, digest) if reports is not None else None
        out[digest] = Badges(_platforms(registry, repository, artifact), signed, scan)
    return out
