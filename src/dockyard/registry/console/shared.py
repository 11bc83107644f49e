"""What the console shares with ``dockyard ui`` (the same pages over the local store): the
HTML building blocks and stylesheet, the file browser of a layer or of the filesystem the
layers build (with dive's wasted bytes), and the comparison of two images with its tables.
Each works on an image from any blob source."""

from dockyard.registry.console._artifact_view import FilesLink, files_section
from dockyard.registry.console._compare_view import comparison_section
from dockyard.registry.console._html import CSS, JS, SECURITY_HEADERS, e, href, page, table
from dockyard.registry.console._views import size_text
from dockyard.registry.contents import (
    MAX_BYTES,
    MAX_ROWS,
    Comparison,
    FileRow,
    Listing,
    TooBig,
    bounded,
    compare_images,
    image_listing,
)

__all__ = [
    "CSS",
    "JS",
    "MAX_BYTES",
    "MAX_ROWS",
    "SECURITY_HEADERS",
    "Comparison",
    "FileRow",
    "FilesLink",
    "Listing",
    "TooBig",
    "bounded",
    "compare_images",
    "comparison_section",
    "e",
    "files_section",
    "href",
    "image_listing",
    "page",
    "size_text",
    "table",
]
