"""ADD <url>: download a file into a snapshot, verified against ``--checksum`` when given."""

from __future__ import annotations

import email.utils
import hashlib
import os
import posixpath
import tempfile
import urllib.parse
from pathlib import Path

import urllib3

from dockyard.builder.worker._scope import clean_path, make_dirs, resolve_in_root
from dockyard.builder.worker._users import resolve_chown
from dockyard.digest import Digest
from dockyard.errors import DigestInvalid, InvalidArgument, Unavailable

__all__ = ["add_url"]


def _file_name(url: str) -> str:
    name = posixpath.basename(urllib.parse.urlsplit(url).path)
    return name or "__unnamed__"


def add_url(
    url: str,
    target_root: Path,
    dest: str,
    *,
    cwd: str = "/",
    checksum: str | None = None,
    chown: str | None = None,
    chmod: int = 0o600,
    timeout: float = 60.0,
) -> Digest:
    """Download ``url`` to ``dest`` (into it when it ends in ``/``); returns the content digest.

    Like Docker: mode 0600 unless ``chmod``, mtime from Last-Modified when the server sends it,
    never unpacked.
    """
    expected = Digest.parse(checksum) if checksum else None
    path = clean_path(dest, cwd)
    if dest.endswith("/"):
        path = clean_path(_file_name(url), path)
    uid, gid = resolve_chown(target_root, chown) if chown else (0, 0)
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=3)
    try:
        response = http.request("GET", url, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:
        raise Unavailable(f"cannot download {url}: {exc}") from None
    if response.status != 200:
        response.release_conn()
        raise InvalidArgument(f"cannot download {url}: HTTP {response.status}")
    make_dirs(target_root, posixpath.dirname(path), uid, gid)
    host = resolve_in_root(target_root, posixpath.dirname(path)) / posixpath.basename(path)
    hasher = hashlib.new(expected.algorithm if expected else "sha256")
    with tempfile.NamedTemporaryFile(dir=host.parent, delete=False) as tmp:
        try:
            for chunk in response.stream(1 << 20):
                hasher.update(chunk)
                tmp.write(chunk)
        finally:
            response.release_conn()
    got = Digest.parse(f"{hasher.name}:{hasher.hexdigest()}")
    if expected is not None and got != expected:
        os.unlink(tmp.name)
        raise DigestInvalid(f"checksum of {url} is {got}, not {expected} as --checksum says")
    os.chown(tmp.name, uid, gid)
    os.chmod(tmp.name, chmod)
    modified = response.headers.get("Last-Modified")
    if modified:
        when = email.utils.parsedate_to_datetime(modified).timestamp()
        os.utime(tmp.name, (when, when))
    if host.is_dir() and not host.is_symlink():
        os.unlink(tmp.name)
        raise InvalidArgument(f"cannot ADD {url} to {path}: it is a directory; end dest with /")
    os.replace(tmp.name, host)
    return got
