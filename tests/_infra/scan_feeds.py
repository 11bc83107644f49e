"""A local copy of the advisory feeds, laid out in their real paths, served over HTTP.

``feed_mirror(vulndb, into)`` builds the tree from the shared fixtures: ``<Ecosystem>/all.zip``
(OSV's exports are zips of one JSON record each), ``tracker/data/json`` (the Debian tracker)
and ``v<ver>/{main,community}.json`` (Alpine secdb; the fixtures are the YAML the JSON is made
from). :class:`FeedServer` serves it on 127.0.0.1 with ETag/Last-Modified, ``Range``/``If-Range``
and ``If-None-Match``, the ``x-goog-hash`` header Google Cloud Storage sends, and can be told to
cut a response short, lie about a checksum, or answer with an HTML page.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import threading
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

import yaml

OSV_ECOSYSTEMS = ("PyPI", "Go", "crates.io")


def feed_mirror(vulndb: Path, into: Path) -> Path:
    for eco in OSV_ECOSYSTEMS:
        (into / eco).mkdir(parents=True)
        with zipfile.ZipFile(into / eco / "all.zip", "w", zipfile.ZIP_DEFLATED) as zf:
            for record in sorted((vulndb / "osv" / eco).glob("*.json")):
                zf.write(record, record.name)
    (into / "tracker" / "data").mkdir(parents=True)
    (into / "tracker" / "data" / "json").write_bytes(
        (vulndb / "debian" / "vunnel-fixture-debian-tracker.json").read_bytes()
    )
    (into / "v3.11").mkdir()
    for repo in ("main", "community"):
        doc = yaml.safe_load((vulndb / "alpine" / f"secdb-v3.11-{repo}.yaml").read_text())
        (into / "v3.11" / f"{repo}.json").write_text(json.dumps(doc, default=str))
    return into


@dataclass
class Behaviour:
    #: path -> send only this many body bytes, then drop the connection (once)
    cut_after: dict[str, int] = field(default_factory=dict)
    #: paths whose x-goog-hash md5 is wrong
    bad_md5: set[str] = field(default_factory=set)
    #: paths answered with an HTML page
    html: set[str] = field(default_factory=set)


class FeedServer:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.behaviour = Behaviour()
        #: (path, Range header or None, status) of every request
        self.log: list[tuple[str, str | None, int]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        path: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        self.log.append((path, h.headers.get("Range"), status))
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        cut = self.behaviour.cut_after.pop(path, None)
        if cut is not None:
            h.wfile.write(body[:cut])
            h.wfile.flush()
            h.close_connection = True
            return
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            self._send(h, path, 404, {"Content-Type": "text/plain"}, b"not found\n")
            return
        if path in self.behaviour.html:
            self._send(h, path, 200, {"Content-Type": "text/html"}, b"<html>log in</html>")
            return
        data = file.read_bytes()
        etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
        modified = email.utils.formatdate(file.stat().st_mtime, usegmt=True)
        md5 = hashlib.md5(b"x" + data if path in self.behaviour.bad_md5 else data).digest()
        headers = {
            "ETag": etag,
            "Last-Modified": modified,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/zip" if path.endswith(".zip") else "application/json",
        }
        if path.endswith(".zip"):  # as Google Cloud Storage does, for the whole object
            headers["x-goog-hash"] = "crc32c=AAAAAA==,md5=" + base64.b64encode(md5).decode()
        if h.headers.get("If-None-Match") == etag:
            self._send(h, path, 304, {"ETag": etag}, b"")
            return
        wanted = h.headers.get("Range")
        if_range = h.headers.get("If-Range")
        if wanted and wanted.startswith("bytes=") and if_range in (None, etag, modified):
            start = int(wanted.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self._send(h, path, 416, {"Content-Range": f"bytes */{len(data)}"}, b"")
                return
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
            self._send(h, path, 206, headers, data[start:])
            return
        self._send(h, path, 200, headers, data)
