"""The repository page's per-artifact badges, all from the API's answers to the signed-in
user: signed (a signature accessory refers to it) and its scan's worst severity from the
artifact listing (``with_accessory``, ``with_scan_overview``), and the platforms of an index
(its references) or of a single image (its config, from ``…/layers``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Badges", "badges", "platform_text", "platforms_of"]


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


def platforms_of(artifact: dict[str, Any], config: object = None) -> str:
    """An index's platforms (its references'), or a single image's (its ``config``, as the
    API's ``…/layers`` answers it; None: not read)."""
    refs = artifact.get("references")
    if isinstance(refs, list):
        found = [platform_text(r.get("platform")) for r in refs if isinstance(r, dict)]
        return ", ".join(dict.fromkeys(p for p in found if p))
    return platform_text(config)


def badges(artifacts: Sequence[dict[str, Any]], configs: Mapping[str, object]) -> dict[str, Badges]:
    """Each artifact's badges from the API's listing with ``with_accessory`` and
    ``with_scan_overview``: signed when a signature accessory refers to it, the scan's worst
    severity from its ``scan_overview``; ``configs``: the single images' configs, by digest
    (from the API's ``…/layers``)."""
    out = {}
    for artifact in artifacts:
        digest = str(artifact.get("digest", ""))
        signed = any(
            isinstance(a, dict) and str(a.get("type", "")).startswith("signature.")
            for a in artifact.get("accessories") or ()
        )
        out[digest] = Badges(platforms_of(artifact, configs.get(digest)), signed,
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
