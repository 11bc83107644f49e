"""One feed file downloaded beside the database: resumable, verified, never half-visible.

The bytes go to ``<name>.part`` with ``<name>.part.json`` (URL, ETag, Last-Modified) beside
it. An interrupted download keeps both; the next attempt asks for the rest with ``Range`` and
``If-Range``, so a changed file on the server comes back whole (200) instead of spliced (206).
Only a complete, verified file is renamed to ``<name>``: its size against Content-Length /
Content-Range, the checksum the server publishes (``x-goog-hash: md5=`` from Google Cloud
Storage, ``Content-MD5``), that it is not an HTML page, and that it is a valid zip or JSON.
The finished file keeps its validators too, so the next update asks ``If-None-Match`` first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import urllib3

from dockyard.errors import FailedPrecondition, InvalidArgument, Unavailable

__all__ = ["MAX_FEED_BYTES", "Downloaded", "Progress", "download_feed"]

#: the largest feed file accepted (the biggest real one, OSV's npm export, is ~1/4 of this)
MAX_FEED_BYTES = 4 << 30
_CHUNK = 1 << 16
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Progress(Protocol):
    def start(self, key: str, description: str, total: int | None = None) -> None: ...
    def advance(self, key: str, amount: int) -> None: ...
    def finish(self, key: str, status: str = "done") -> None: ...
    def message(self, text: str) -> None: ...


class DownloadInterrupted(Unavailable):
    """The connection ended early; the part kept beside the database resumes next time."""

    retryable = True


@dataclass(frozen=True, slots=True)
class Downloaded:
    path: Path
    size: int
    status: str  # "downloaded", "resumed" or "unchanged"
    resumed_from: int = 0


def _meta(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _write_meta(path: Path, url: str, headers: Any) -> None:
    doc = {"url": url, "etag": headers.get("ETag"), "lastModified": headers.get("Last-Modified")}
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)


def _published_md5(headers: Any) -> bytes | None:
    for value in headers.getlist("x-goog-hash") if hasattr(headers, "getlist") else []:
        for part in value.split(","):
            kind, _, digest = part.strip().partition("=")
            if kind == "md5":
                return base64.b64decode(digest)
    value = headers.get("Content-MD5")
    return base64.b64decode(value) if value else None


def _check_format(path: Path, expect: str, url: str) -> None:
    if expect == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise InvalidArgument(f"{url}: the download is not a valid zip file: {exc}") from exc
        if bad is not None:
            raise InvalidArgument(f"{url}: zip member {bad} is corrupt (CRC mismatch)")
        return
    try:
        with path.open("rb") as f:
            json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"{url}: the download is not valid JSON: {exc}") from exc


def _check_content_type(headers: Any, url: str, expect: str) -> None:
    ctype = str(headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype.startswith("text/html") or ctype.startswith("application/xhtml"):
        raise InvalidArgument(
            f"{url}: the server sent an HTML page ({ctype}), not the {expect} feed: "
            "check the URL or --mirror (a proxy or captive portal may be answering)"
        )


def _discard(*paths: Path) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


def download_feed(
    http: urllib3.PoolManager,
    url: str,
    dest: Path,
    expect: str,
    progress: Progress,
    *,
    max_bytes: int = MAX_FEED_BYTES,
) -> Downloaded:
    """Download ``url`` to ``dest`` (resuming a kept part), verify it, and return where it is."""
    part = dest.with_name(dest.name + ".part")
    part_meta = dest.with_name(dest.name + ".part.json")
    done_meta = dest.with_name(dest.name + ".json")
    headers = {"Accept-Encoding": "identity", "User-Agent": "dockyard-db-update"}
    offset = part.stat().st_size if part.exists() else 0
    kept = _meta(part_meta)
    validator = kept.get("etag") or kept.get("lastModified")
    if offset and kept.get("url") == url and validator:
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = validator
    else:
        offset = 0
        previous = _meta(done_meta)
        if dest.exists() and previous.get("url") == url:
            if previous.get("etag"):
                headers["If-None-Match"] = previous["etag"]
            if previous.get("lastModified"):
                headers["If-Modified-Since"] = previous["lastModified"]
    try:
        response = http.request("GET", url, headers=headers, preload_content=False, redirect=True)
    except urllib3.exceptions.HTTPError as exc:
        raise Unavailable(
            f"cannot download {url}: {exc}", hint="check the network or --mirror"
        ) from None
    try:
        if response.status == 304 and dest.exists():
            progress.message(f"{dest.name}: unchanged since the last update")
            return Downloaded(dest, dest.stat().st_size, "unchanged")
        if response.status == 416 and offset:
            _discard(part, part_meta)  # the kept part is no prefix of this file: start over
            response.drain_conn()
            return download_feed(http, url, dest, expect, progress, max_bytes=max_bytes)
        if response.status not in (200, 206):
            raise Unavailable(
                f"cannot download {url}: HTTP {response.status}",
                hint="check the URL, or --mirror; a 404 may mean an unknown --ecosystem/--alpine",
            )
        _check_content_type(response.headers, url, expect)
        length = response.headers.get("Content-Length")
        if response.status == 206:
            match = _CONTENT_RANGE.fullmatch(str(response.headers.get("Content-Range", "")))
            if not match or int(match.group(1)) != offset:
                raise InvalidArgument(
                    f"{url}: the server answered a resume with a wrong Content-Range "
                    f"({response.headers.get('Content-Range')!r} for bytes {offset}-)"
                )
            total = None if match.group(3) == "*" else int(match.group(3))
        else:
            offset = 0
            total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise FailedPrecondition(f"{url}: {total:,} bytes is more than a feed may be")
        _write_meta(part_meta, url, response.headers)
        status = "resumed" if offset else "downloaded"
        progress.start(dest.name, dest.name, total)
        if offset:
            progress.advance(dest.name, offset)
        written = offset
        try:
            with part.open("ab" if offset else "wb") as out:
                # read1: every byte received reaches the part before a cut raises
                while chunk := response.read1(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise FailedPrecondition(f"{url}: more than {max_bytes:,} bytes")
                    out.write(chunk)
                    progress.advance(dest.name, len(chunk))
                out.flush()
                os.fsync(out.fileno())
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            progress.finish(dest.name, f"interrupted at {written:,} bytes")
            raise DownloadInterrupted(
                f"download of {url} was interrupted after {written:,} of "
                f"{total if total is not None else '?'} bytes ({exc.__class__.__name__})",
                hint="run `dockyard db update` again to resume it; nothing was imported",
            ) from None
        if total is not None and written != total:
            progress.finish(dest.name, "incomplete")
            raise DownloadInterrupted(
                f"download of {url} ended after {written:,} of {total:,} bytes",
                hint="run `dockyard db update` again to resume it; nothing was imported",
            )
        try:
            md5 = _published_md5(response.headers)
            if md5 is not None:
                got = hashlib.md5(usedforsecurity=False)
                with part.open("rb") as f:
                    while chunk := f.read(1 << 20):
                        got.update(chunk)
                if got.digest() != md5:
                    raise InvalidArgument(
                        f"{url}: the download's MD5 {got.hexdigest()} is not the published "
                        f"{md5.hex()}",
                        hint="the file was damaged in transit or changed meanwhile; run "
                        "`dockyard db update` again",
                    )
            _check_format(part, expect, url)
        except InvalidArgument:
            _discard(part, part_meta)
            progress.finish(dest.name, "rejected")
            raise
        os.replace(part, dest)
        os.replace(part_meta, done_meta)
        progress.finish(dest.name, f"{status} ({written:,} bytes)")
        return Downloaded(dest, written, status, offset)
    finally:
        response.release_conn()
