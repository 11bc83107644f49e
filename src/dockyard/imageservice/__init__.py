"""The local image service: what docker's image commands do, over the local store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dockyard._lazy import lazy_exports

if TYPE_CHECKING:
    from dockyard.imageservice._changes import ALLOWED_CHANGES, apply_changes
    from dockyard.imageservice._filters import ImageFilter, parse_duration, parse_filters
    from dockyard.imageservice._import import import_image
    from dockyard.imageservice._inspect import HistoryRow, history, inspect_image
    from dockyard.imageservice._lookup import find_image, looks_like_id
    from dockyard.imageservice._remove import DeleteResult, PruneResult, prune_images, remove_image
    from dockyard.imageservice._summary import PARENT_LABEL, ImageSummary, parse_time, summaries
    from dockyard.imageservice._tag import tag_image
    from dockyard.imageservice._usage import DiskUsage, disk_usage, system_info

__all__ = [
    "ALLOWED_CHANGES",
    "PARENT_LABEL",
    "DeleteResult",
    "DiskUsage",
    "HistoryRow",
    "ImageFilter",
    "ImageSummary",
    "PruneResult",
    "apply_changes",
    "disk_usage",
    "find_image",
    "history",
    "import_image",
    "inspect_image",
    "looks_like_id",
    "parse_duration",
    "parse_filters",
    "parse_time",
    "prune_images",
    "remove_image",
    "summaries",
    "system_info",
    "tag_image",
]

#: Where each public name lives. Submodules load on first use (PEP 562): a build that only
#: reads one label name does not load the image commands.
_WHERE = {
    "ALLOWED_CHANGES": "_changes",
    "DeleteResult": "_remove",
    "DiskUsage": "_usage",
    "HistoryRow": "_inspect",
    "ImageFilter": "_filters",
    "ImageSummary": "_summary",
    "PARENT_LABEL": "_summary",
    "PruneResult": "_remove",
    "apply_changes": "_changes",
    "disk_usage": "_usage",
    "find_image": "_lookup",
    "history": "_inspect",
    "import_image": "_import",
    "inspect_image": "_inspect",
    "looks_like_id": "_lookup",
    "parse_duration": "_filters",
    "parse_filters": "_filters",
    "parse_time": "_summary",
    "prune_images": "_remove",
    "remove_image": "_remove",
    "summaries": "_summary",
    "system_info": "_usage",
    "tag_image": "_tag",
}


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, __all__)
