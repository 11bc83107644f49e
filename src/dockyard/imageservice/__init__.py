"""The local image service: what docker's image commands do, over the local store."""

from dockyard.imageservice._changes import ALLOWED_CHANGES, apply_changes
from dockyard.imageservice._filters import ImageFilter, parse_duration, parse_filters
from dockyard.imageservice._import import import_image
from dockyard.imageservice._inspect import HistoryRow, history, inspect_image
from dockyard.imageservice._lookup import find_image, looks_like_id
from dockyard.imageservice._remove import DeleteResult, PruneResult, prune_images, remove_image
from dockyard.imageservice._summary import ImageSummary, parse_time, summaries
from dockyard.imageservice._tag import tag_image
from dockyard.imageservice._usage import DiskUsage, disk_usage, system_info

__all__ = [
    "ALLOWED_CHANGES",
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
