"""Blob storage for the registry: the driver interface, the filesystem driver, the layout, and
the S3 driver's settings (the S3 driver itself is the public module ``storage.s3``, which
loads the S3 client only where it is used)."""

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
from dockyard.registry.storage._s3_config import S3Config, s3_config_from_section

__all__ = [
    "FileInfo",
    "FileWriter",
    "FilesystemDriver",
    "S3Config",
    "StorageDriver",
    "blob_key",
    "check_upload_id",
    "parse_blob_key",
    "quarantine_key",
    "s3_config_from_section",
    "upload_data_key",
    "upload_prefix",
]
