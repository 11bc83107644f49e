"""The whole storage layout in one place: which key holds which bytes.

```
blobs/<algorithm>/<first two hex>/<hex>     verified blob content, one copy per digest
uploads/<upload id>/data                     bytes of an upload in progress
quarantine/<algorithm>/<hex>.<stamp>         a blob whose bytes did not match its digest
```

Keys are built only from parsed digests and server-generated upload ids, never from names.
"""

from __future__ import annotations

import re

from dockyard.digest import Digest
from dockyard.errors import BlobUploadUnknown

__all__ = [
    "BLOBS",
    "QUARANTINE",
    "UPLOADS",
    "blob_key",
    "check_upload_id",
    "parse_blob_key",
    "quarantine_key",
    "upload_data_key",
    "upload_prefix",
]

BLOBS = "blobs"
UPLOADS = "uploads"
QUARANTINE = "quarantine"

_UPLOAD_ID = re.compile(r"[a-f0-9]{32}")
_BLOB_KEY = re.compile(r"blobs/(sha256|sha512)/([a-f0-9]{2})/([a-f0-9]+)")


def blob_key(digest: Digest) -> str:
    return f"{BLOBS}/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def quarantine_key(digest: Digest, stamp: str) -> str:
    """Where a corrupt blob is moved (``stamp``: letters, digits, ``-``; when it was moved)."""
    return f"{QUARANTINE}/{digest.algorithm}/{digest.hex}.{stamp}"


def parse_blob_key(key: str) -> Digest | None:
    """The digest a blob key stands for, or None for anything else (temp files, strays)."""
    m = _BLOB_KEY.fullmatch(key)
    if m is None or not m.group(3).startswith(m.group(2)):
        return None
    text = f"{m.group(1)}:{m.group(3)}"
    return Digest.parse(text) if Digest.is_valid(text) else None


def check_upload_id(upload_id: str) -> str:
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise BlobUploadUnknown(f"upload {upload_id!r} is unknown: upload ids are 32 hex digits")
    return upload_id


def upload_prefix(upload_id: str) -> str:
    return f"{UPLOADS}/{check_upload_id(upload_id)}"


def upload_data_key(upload_id: str) -> str:
    return f"{upload_prefix(upload_id)}/data"
