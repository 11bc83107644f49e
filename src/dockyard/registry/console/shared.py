"""What the console shares with ``dockyard ui`` (the same pages over the local store): the
HTML building blocks and stylesheet, the file browser of a layer or of the filesystem the
layers build (with dive's wasted bytes), the comparison of two images with its tables, an
image's packages and SBOM, and the field with a command to copy. Each works on an image from
any blob source."""

from dockyard.registry.console._artifact_view import SBOM_NAMES, FilesLink, files_section
from dockyard.registry.console._compare_view import comparison_section
from dockyard.registry.console._html import CSS, JS, SECURITY_HEADERS, e, href, page, table
from dockyard.registry.console._views import copy_field, size_text
from dockyard.registry.contents import (
    MAX_BYTES,
    MAX_ROWS,
    SBOM_FORMATS,
    Comparison,
    FileRow,
    Listing,
    PackageRow,
    TooBig,
    bounded,
    compare_images,
    image_listing,
    image_packages,
    image_sbom,
)

__all__ = [
    "CSS",
    "JS",
    "MAX_BYTES",
    "MAX_ROWS",
    "SBOM_FORMATS",
    "SBOM_NAMES",
    "SECURITY_HEADERS",
    "Comparison",
    "FileRow",
    "FilesLink",
    "Listing",
    "PackageRow",
    "TooBig",
    "bounded",
    "compare_images",
    "comparison_section",
    "copy_field",
    "e",
    "files_section",
    "href",
    "image_listing",
    "image_packages",
    "image_sbom",
    "page",
    "size_text",
    "table",
]
