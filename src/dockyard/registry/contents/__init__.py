"""What an artifact holds, computed from the registry's blobs (blocking: run in a thread, after
the caller has been allowed to read the artifact): its layers' files and the filesystem they
build (with dive's wasted bytes), its SBOM and packages, the artifacts that refer to it with
each signature's verification state, the comparison of two images, and artifacts by their
worst vulnerability. The Harbor API (``registry/harbor/``) serves these and the console
(``registry/console/``) shows what the API answers; neither imports the other for them."""

from dockyard.registry.contents._artifact import (
    MAX_ROWS,
    SBOM_FORMATS,
    FileRow,
    Listing,
    PackageRow,
    Referrer,
    bounded,
    image_listing,
    image_packages,
    image_sbom,
    listing,
    packages,
    referrers,
    sbom,
)
from dockyard.registry.contents._compare import (
    MAX_BYTES,
    MAX_FILES,
    Comparison,
    LayerRow,
    PackageChange,
    TooBig,
    VulnChange,
    compare,
    compare_images,
    comparison_from_json,
    comparison_json,
)
from dockyard.registry.contents._severity import SEVERITIES, worst_of, worst_severities
from dockyard.registry.contents._trust import NO_KEY, UNVERIFIED, VERIFIED, Verdict, policy_keys

__all__ = [
    "MAX_BYTES",
    "MAX_FILES",
    "MAX_ROWS",
    "NO_KEY",
    "SBOM_FORMATS",
    "SEVERITIES",
    "UNVERIFIED",
    "VERIFIED",
    "Comparison",
    "FileRow",
    "LayerRow",
    "Listing",
    "PackageChange",
    "PackageRow",
    "Referrer",
    "TooBig",
    "Verdict",
    "VulnChange",
    "bounded",
    "compare",
    "compare_images",
    "comparison_from_json",
    "comparison_json",
    "image_listing",
    "image_packages",
    "image_sbom",
    "listing",
    "packages",
    "policy_keys",
    "referrers",
    "sbom",
    "worst_of",
    "worst_severities",
]
