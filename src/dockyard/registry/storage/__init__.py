"""Blob storage for the registry: the driver interface, the filesystem driver, the layout."""

from dockyard.registry.storage._driver import FileInfo, FileWriter, StorageDriver
from dockyard.registry.storage._filesystem import FilesystemDriver
from dockyard.registry.storage._layout import (
    blob_key,
    check_upload_id,
    parse_blob_key,
    quarantine_key,
    upload_data_key,
    upload_prefix,
)

__all__ = [
    "FileInfo",
    "FileWriter",
    "FilesystemDriver",
    "StorageDriver",
    "blob_key",
    "check_upload_id",
    "parse_blob_key",
    "quarantine_key",
    "upload_data_key",
    "upload_prefix",
]
