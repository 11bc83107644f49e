"""Verified, content-addressed blob storage (containerd's content store, as an OCI layout)."""

from dockyard.content._reader import VerifyingReader, vouched
from dockyard.content._store import ContentStore
from dockyard.content._writer import BUFFER_SIZE, ContentWriter

__all__ = ["BUFFER_SIZE", "ContentStore", "ContentWriter", "VerifyingReader", "vouched"]
