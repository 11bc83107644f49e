"""The S3 storage driver (``storage.s3``); importing it loads the S3 client (aiobotocore)."""

from dockyard.registry.storage._s3 import S3Driver
from dockyard.registry.storage._s3_config import S3Config, s3_config_from_section

__all__ = ["S3Config", "S3Driver", "s3_config_from_section"]
